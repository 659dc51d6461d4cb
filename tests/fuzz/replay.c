/* Runs a fuzz target over its corpus files without libFuzzer, so every normal and ASan
 * build replays the corpus (tests/fuzz/corpus/<target>/) as part of `make test`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  size_t files = 0;
  for (int a = 1; a < argc; a++) {
    DIR *d = opendir(argv[a]);
    if (!d) {
      fprintf(stderr, "cannot open corpus %s\n", argv[a]);
      return 1;
    }
    for (struct dirent *de; (de = readdir(d));) {
      if (de->d_name[0] == '.')
        continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[a], de->d_name);
      FILE *f = fopen(path, "rb");
      if (!f)
        continue;
      fseek(f, 0, SEEK_END);
      long n = ftell(f);
      fseek(f, 0, SEEK_SET);
      uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
      size_t got = fread(buf, 1, (size_t)(n > 0 ? n : 0), f);
      fclose(f);
      LLVMFuzzerTestOneInput(buf, got);
      /* every prefix too: truncated input is the commonest breakage */
      for (size_t k = 0; k < got && k < 512; k += 7)
        LLVMFuzzerTestOneInput(buf, k);
      free(buf);
      files++;
    }
    closedir(d);
  }
  printf("replayed %zu corpus files\n", files);
  return files ? 0 : 1;
}
