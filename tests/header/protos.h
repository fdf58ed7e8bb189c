/* The prototypes a client writes for itself when it uses the runtime
 * without our header, as libgcc's runtime defines the functions (a
 * context is `void *ctx[10]`). */
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void __splitstack_getcontext(void *ctx[10]);
void __splitstack_setcontext(void *ctx[10]);
void *__splitstack_makecontext(size_t stack_size, void *ctx[10], size_t *size);
void *__splitstack_resetcontext(void *ctx[10], size_t *size);
void __splitstack_releasecontext(void *ctx[10]);
void __splitstack_block_signals(int *new_value, int *old_value);
void __splitstack_block_signals_context(void *ctx[10], int *new_value, int *old_value);
void *__splitstack_find(void *segment, void *sp, size_t *len, void **next_segment, void **next_sp,
                        void **initial_sp);
void *__splitstack_find_context(void *ctx[10], size_t *len, void **next_segment, void **next_sp,
                                void **initial_sp);
#ifdef __cplusplus
}
#endif
