/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the custody log as someone who edited it finds it read back:
 * `dockd --verify-custody` over files (custody_verify_files) or over a log's
 * directory (custody_verify_dir), and dockd's own start-up on that directory
 * (custody_log_open: the recovery that finds the chain's head and cuts off a
 * torn record). Signatures verify only on the seeds' records (gen-corpus signed
 * them with a key it deleted; custody-key.pub.pem is its public half).
 *
 * Input: byte 0 picks what runs (bit 0: verify with custody-key.pub.pem, else
 * with the key the log names; bits 1-2: 0 verify the files as given, 1 verify
 * the directory, 2 open the log as dockd does at start); then up to four
 * files, each [u8 name length][name][u16 LE size][content]. Verifying files
 * passes them in order; in a directory the last one is current.jsonl and the
 * others go to sealed/ under their names.
 *
 * Beyond "no crash, no leak, no overread": the verifier says "valid: …" when it
 * accepts, and otherwise an error that names the file (and line) or says what
 * is missing; a log dockd opened takes a record. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custody.h"
#include "fuzz.h"

#define MAX_FILES 4

static char *root, *dir, *sealed, *key_pub, *dock_key;

static void mkdir_or_die(const char *p) {
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
                abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {

        root = fuzz_tmpdir("fuzz-custody");
        if (asprintf(&dir, "%s/log", root) < 0 || asprintf(&sealed, "%s/sealed", dir) < 0 ||
            asprintf(&dock_key, "%s/dock.key", root) < 0)
                abort();
        key_pub = getenv("FUZZ_CUSTODY_KEY") ?: FUZZ_CUSTODY_KEY;
        mkdir_or_die(dir);
        mkdir_or_die(sealed);
        /* Quiet: dockd's warnings about what it cuts off would flood the fuzzer's output. */
        log_set_max_level(LOG_CRIT);
        return 0;
}

static void clear_dir(const char *path) {
        DIR *d = opendir(path);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d)))
                if (e->d_type != DT_DIR)
                        (void) unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
}

/* A file name of its own: no '/', no NUL, not "", ".", ".." or "sealed". */
static void sanitize(char *name) {
        for (char *c = name; *c; c++)
                if (*c == '/')
                        *c = '_';
        if (!*name || streq(name, ".") || streq(name, "..") || streq(name, "sealed"))
                strcpy(name, "x");
}

static void check_output(int r, char *out, size_t n) {
        if (getenv("FUZZ_VERBOSE"))
                fprintf(stderr, "fuzz-custody: %d %s", r, out);
        fuzz_check(n > 0 && out[n - 1] == '\n');
        if (r == 0) {
                fuzz_check(startswith(out, "valid: "));
                return;
        }
        fuzz_check(startswith(out, root) || startswith(out, key_pub) || startswith(out, "no public key given") ||
                   streq(out, "no records\n") || streq(out, "no custody log files given\n"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *paths[MAX_FILES], *out = NULL;
        size_t n = 0, at = 1, out_size = 0;
        unsigned mode;
        bool with_key;
        FILE *f;
        int r;

        if (size < 1)
                return 0;
        with_key = data[0] & 1;
        mode = (data[0] >> 1) & 3;
        clear_dir(sealed);
        clear_dir(dir);
        while (n < MAX_FILES && at < size) {
                size_t name_len = data[at++], len;
                char name[256];
                bool last;

                if (at + name_len + 2 > size)
                        break;
                memcpy(name, data + at, name_len);
                name[name_len] = 0;
                sanitize(name);
                at += name_len;
                len = data[at] | (size_t) data[at + 1] << 8;
                at += 2;
                len = MIN(len, size - at);
                last = n == MAX_FILES - 1 || at + len >= size;
                /* Verifying files: all in the log's directory. A directory: the last
                 * file is its current.jsonl, the others are sealed. */
                if (mode != 0 && last)
                        strcpy(name, "current.jsonl");
                if (asprintf(&paths[n], "%s/%s", mode == 0 || last ? dir : sealed, name) < 0)
                        abort();
                fuzz_write_file(paths[n], data + at, len);
                at += len;
                n++;
        }

        f = open_memstream(&out, &out_size);
        if (!f)
                abort();
        if (mode == 0) {
                r = custody_verify_files(paths, n, with_key ? key_pub : NULL, f);
                fclose(f);
                check_output(r, out, out_size);
        } else if (mode == 1) {
                r = custody_verify_dir(dir, with_key ? key_pub : NULL, f);
                fclose(f);
                check_output(r, out, out_size);
        } else {
                CustodyLog *l = NULL;

                fclose(f);
                r = custody_log_open(dir, dock_key, "fuzz-dock", &l);
                if (getenv("FUZZ_VERBOSE"))
                        fprintf(stderr, "fuzz-custody: open: %d\n", r);
                fuzz_check((r >= 0) == !!l);
                if (l) {
                        fuzz_check(custody_log_append(l, CUSTODY_DOCKED, "1", "BWC-0001", NULL, NULL) == 0);
                        custody_log_free(l);
                }
        }
        free(out);
        for (size_t i = 0; i < n; i++)
                free(paths[i]);
        return 0;
}
