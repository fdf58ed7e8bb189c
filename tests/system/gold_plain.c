/* Compiled WITHOUT -fsplit-stack: the control for gold_caller.c. */
void plain_function(char *p) { p[0] = 2; }
