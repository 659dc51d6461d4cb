/* The compiled FtM model JSON, embedded at build time (path from CMake), NUL-terminated,
 * with its byte size as a separate symbol. */
    .section .rodata
    .global lh__model_json
    .hidden lh__model_json
    .type lh__model_json, @object
    .balign 16
lh__model_json:
    .incbin LH_MODEL_JSON_PATH
lh__model_json_end:
    .byte 0
    .global lh__model_json_size
    .hidden lh__model_json_size
    .type lh__model_json_size, @object
    .balign 8
lh__model_json_size:
    .quad lh__model_json_end - lh__model_json
    .section .note.GNU-stack,"",@progbits
