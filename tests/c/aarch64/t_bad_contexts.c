/* The x86_64 suite's garbage-context test (API only, no split-stack code),
 * run here at every page size. */
#include "../x86_64/t_bad_contexts.c"
