/* Compiled with -fsplit-stack and linked with gold (tests/run.sh):
 * call_api's call into the library must keep its __morestack prologue
 * (the library's objects carry .note.GNU-split-stack), while
 * call_plain's call into an object compiled without -fsplit-stack is the
 * control: gold rewrites that one to __morestack_non_split. */
void __splitstack_getcontext(void *ctx[10]);
void plain_function(char *);

__attribute__((noinline)) void call_api(void *ctx[10])
{
    char buf[64];
    buf[0] = 1;
    __splitstack_getcontext(ctx);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

__attribute__((noinline)) void call_plain(void)
{
    char buf[64];
    plain_function(buf);
}

int main(void)
{
    void *ctx[10];
    call_api(ctx);
    call_plain();
    return 0;
}
