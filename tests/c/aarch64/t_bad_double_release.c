/* The x86_64 suite's t_bad_double_release (API only, no split-stack code), run here at
 * every page size. */
#include "../x86_64/t_bad_double_release.c"
