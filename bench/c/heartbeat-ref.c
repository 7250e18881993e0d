// Reference heartbeat: beats at absolute CLOCK_MONOTONIC times with clock_nanosleep(TIMER_ABSTIME).
// Usage: heartbeat-ref PERIOD_MS BEATS [raw] -> prints one line: p50 p99 max min lateness in ms
// (raw: every beat's lateness in ms, one per line, in beat order).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int raw = argc == 4 && strcmp(argv[3], "raw") == 0;
  if (argc != 3 && !raw) {
    fprintf(stderr, "usage: %s PERIOD_MS BEATS\n", argv[0]);
    return 64;
  }
  double period_ms = atof(argv[1]);
  int beats = atoi(argv[2]);
  if (period_ms <= 0 || beats <= 0) return 64;
  long long period_ns = (long long)(period_ms * 1e6);
  double *late = malloc(sizeof(double) * (size_t)beats);
  if (!late) return 71;
  struct timespec origin, due, now;
  clock_gettime(CLOCK_MONOTONIC, &origin);
  long long origin_ns = origin.tv_sec * 1000000000LL + origin.tv_nsec;
  for (int n = 1; n <= beats; n++) {
    long long due_ns = origin_ns + n * period_ns;
    due.tv_sec = due_ns / 1000000000LL;
    due.tv_nsec = due_ns % 1000000000LL;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) != 0) {
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    late[n - 1] = ((now.tv_sec * 1000000000LL + now.tv_nsec) - due_ns) / 1e6;
  }
  if (raw) {
    for (int i = 0; i < beats; i++) printf("%.4f\n", late[i]);
    free(late);
    return 0;
  }
  qsort(late, (size_t)beats, sizeof(double), cmp);
  int i50 = (beats + 1) / 2 - 1, i99 = (int)((beats * 99 + 99) / 100) - 1;
  printf("%.4f %.4f %.4f %.4f\n", late[i50], late[i99], late[beats - 1], late[0]);
  free(late);
  return 0;
}
