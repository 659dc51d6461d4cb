/* LH_API marks the functions and data of the public API: the library is built with
 * -fvisibility=hidden, so liblakehouse.so exports these and nothing else. */
#ifndef LAKEHOUSE_API_H
#define LAKEHOUSE_API_H

#if defined(__GNUC__) || defined(__clang__)
#define LH_API __attribute__((visibility("default")))
#else
#define LH_API
#endif

#endif
