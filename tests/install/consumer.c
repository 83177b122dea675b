/* Links against an installed ibcheck: parses a precision mode and prints it. */
#include <stdio.h>
#include <ibcheck/ibcheck.h>

int main(int argc, char **argv)
{
    ibc_prec pr;
    char err[IBC_ERRLEN], buf[24];
    if (ibc_prec_parse(&pr, argc > 1 ? argv[1] : "mpfr:256", err) != IBC_OK)
        return fprintf(stderr, "%s\n", err), 2;
    printf("ibcheck %s: %s (%ld bits)\n", IBC_VERSION, ibc_prec_str(pr, buf), pr.bits);
    return 0;
}
