#!/usr/bin/env bash
# gcc-suite.sh - run GCC's own split-stack run tests against a chosen runtime.
#
# The test sources are GCC's (GPL): they are extracted at run time from
# Debian's gcc-12-source tarball into the scratch directory and never stored
# in this repository.
#
# Environment:
#   RUNTIME=libgcc|static|shared  runtime to link (default libgcc = baseline)
#   LIBDIR=dir                    where libsplitstack.{a,so} live
#                                 (default: <repo>/build)
#   LINKERS="gold bfd"            linkers to use (gold, bfd, lld)
#   GCC_SUITE_DIR=dir             scratch dir (default: <repo>/build/gcc-suite)
#   GCC_SOURCE_TARBALL=file       default /usr/src/gcc-12/gcc-12.2.0-dfsg.tar.xz
#   CC=gcc                        compiler driver
#   TESTS="pattern ..."           only run tests whose name matches a glob
#                                 (names as printed, e.g. 'gcc.dg/split-*')
#   RUN_TIMEOUT=60                seconds allowed per program run
#   JOBS=<nproc>                  parallel (test, linker) jobs
#   EXTRA_LDFLAGS=                extra flags appended to every link
#   VERBOSE=1                     also print the commands of passing tests
#
# Output: one line per (test, linker), then exactly one summary line
#   gcc-suite: N passed, N failed, N skipped
# Exit status: 0 if nothing failed and at least one test passed, 1 otherwise,
# 2 on a setup problem (missing tarball, library, linker, bad settings).

set -u
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

RUNTIME=${RUNTIME:-libgcc}
LINKERS=${LINKERS:-gold bfd}
CC=${CC:-gcc}
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
EXTRA_LDFLAGS=${EXTRA_LDFLAGS:-}
VERBOSE=${VERBOSE:-0}
TESTS=${TESTS:-}
TARBALL=${GCC_SOURCE_TARBALL:-/usr/src/gcc-12/gcc-12.2.0-dfsg.tar.xz}
SCRATCH=${GCC_SUITE_DIR:-$repo/build/gcc-suite}

die() { echo "gcc-suite.sh: $*" >&2; exit 2; }

# The tests, relative to gcc/testsuite/.
MEMBERS=(
  gcc.dg/split-1.c gcc.dg/split-2.c gcc.dg/split-3.c gcc.dg/split-4.c
  gcc.dg/split-5.c gcc.dg/split-6.c gcc.dg/split-7.c gcc.dg/split-8.c
  gcc.dg/pr85388-1.c gcc.dg/pr85388-2.c gcc.dg/pr85388-3.c
  gcc.dg/pr85388-4.c gcc.dg/pr85388-5.c gcc.dg/pr85388-6.c
  gcc.target/i386/pr46084.c
  gcc.dg/tree-prof/split-1.c
)
# DejaGnu's idea of this target (config.guess form, not `gcc -dumpmachine`).
TRIPLET=x86_64-pc-linux-gnu

# ---------------------------------------------------------------- settings
case $RUNTIME in
  libgcc|static|shared) ;;
  *) die "RUNTIME must be libgcc, static or shared (got '$RUNTIME')" ;;
esac
[[ $RUN_TIMEOUT =~ ^[0-9]+$ ]] || die "RUN_TIMEOUT must be a number of seconds"
[[ $JOBS =~ ^[0-9]+$ && $JOBS -ge 1 ]] || die "JOBS must be a positive number"
command -v "$CC" >/dev/null || die "compiler '$CC' not found"

read -r -a linkers <<<"$LINKERS"
[[ ${#linkers[@]} -gt 0 ]] || die "LINKERS is empty"
for ld in "${linkers[@]}"; do
  case $ld in
    gold|bfd|lld) command -v "ld.$ld" >/dev/null || die "linker ld.$ld not found (LINKERS=$LINKERS)" ;;
    *) die "unknown linker '$ld' in LINKERS (use gold, bfd, lld)" ;;
  esac
done

if [[ $RUNTIME != libgcc ]]; then
  LIBDIR=${LIBDIR:-$repo/build}
  [[ -d $LIBDIR ]] || die "LIBDIR '$LIBDIR' does not exist (build the library first)"
  LIBDIR=$(cd "$LIBDIR" && pwd)
  if [[ $RUNTIME == static ]]; then
    [[ -f $LIBDIR/libsplitstack.a ]] || die "$LIBDIR/libsplitstack.a not found (build the library first)"
  else
    [[ -f $LIBDIR/libsplitstack.so ]] || die "$LIBDIR/libsplitstack.so not found (build the library first)"
  fi
fi

mkdir -p "$SCRATCH" || die "cannot create scratch dir $SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd)
SRC=$SCRATCH/src

# -------------------------------------------------------------- extraction
have_all_sources() {
  local m
  for m in "${MEMBERS[@]}"; do [[ -s $SRC/$m ]] || return 1; done
}

if ! have_all_sources; then
  if [[ ! -f $TARBALL ]]; then
    echo "gcc-suite.sh: GCC source tarball $TARBALL not found." >&2
    echo "gcc-suite.sh: install it with: apt-get install gcc-12-source" >&2
    echo "gcc-suite.sh: (or point GCC_SOURCE_TARBALL at gcc-12.2.0-dfsg.tar.xz)" >&2
    exit 2
  fi
  tmp=$SCRATCH/src.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  pats=()
  for m in "${MEMBERS[@]}"; do pats+=("*/gcc/testsuite/$m"); done
  # --strip-components=3: <top>/gcc/testsuite/<member> -> <member>
  if ! tar -xf "$TARBALL" -C "$tmp" --wildcards --no-wildcards-match-slash \
         --strip-components=3 "${pats[@]}" 2>"$tmp.err"; then
    cat "$tmp.err" >&2; rm -rf "$tmp" "$tmp.err"
    die "extraction from $TARBALL failed"
  fi
  rm -f "$tmp.err"
  for m in "${MEMBERS[@]}"; do
    [[ -s $tmp/$m ]] || { rm -rf "$tmp"; die "$m not found in $TARBALL"; }
  done
  rm -rf "$SRC"
  mv "$tmp" "$SRC" 2>/dev/null || rm -rf "$tmp"   # a concurrent run may have won
  have_all_sources || die "extraction into $SRC failed"
fi

# ------------------------------------------------------ Tcl-ish word split
# tcl_split STRING: split a Tcl list into the global array TW (braces and
# double quotes group; braced words keep their inner text verbatim).
tcl_split() {
  local s=$1 n=${#1} i=0 c w depth
  TW=()
  while (( i < n )); do
    c=${s:i:1}
    case $c in
      ' '|$'\t'|$'\n') (( i++ )); continue ;;
      '{')
        depth=1; w=''; (( i++ ))
        while (( i < n )); do
          c=${s:i:1}
          if [[ $c == '{' ]]; then (( depth++ ))
          elif [[ $c == '}' ]]; then (( depth-- )); (( depth == 0 )) && break
          fi
          w+=$c; (( i++ ))
        done
        (( i++ )); TW+=("$w") ;;
      '"')
        w=''; (( i++ ))
        while (( i < n )); do
          c=${s:i:1}
          if [[ $c == '\' ]]; then (( i++ )); w+=${s:i:1}; (( i++ )); continue; fi
          [[ $c == '"' ]] && break
          w+=$c; (( i++ ))
        done
        (( i++ )); TW+=("$w") ;;
      *)
        w=''
        while (( i < n )); do
          c=${s:i:1}
          [[ $c == ' ' || $c == $'\t' || $c == $'\n' ]] && break
          w+=$c; (( i++ ))
        done
        TW+=("$w") ;;
    esac
  done
}

# ------------------------------------------------------ effective targets
declare -A EFF=()
UNKNOWN_KW=''
CHK=$SCRATCH/checks/$RUNTIME
mkdir -p "$CHK"

check_compiles() { # name ext flags... < source ; compile to an object
  local name=$1 ext=$2; shift 2
  cat >"$CHK/$name.$ext"
  "$CC" "$@" -c "$CHK/$name.$ext" -o "$CHK/$name.o" >"$CHK/$name.log" 2>&1 &&
    [[ ! -s $CHK/$name.log ]]
}

# eff_target KEYWORD -> status 0 (yes) / 1 (no); unknown keywords count as
# "no" and are recorded in UNKNOWN_KW.
eff_target() {
  local kw=$1 r=1
  if [[ -n ${EFF[$kw]+x} ]]; then return "${EFF[$kw]}"; fi
  case $kw in
    lp64|x86_64|x86|linux|pthread|tls|tls_runtime|profiling|fprofile_update_atomic) r=0 ;;
    ia32|x32|ilp32|llp64|nonpic|not_native) r=1 ;;
    split_stack)
      check_compiles split_stack c -fsplit-stack <<<'void foo (void) { }' && r=0 ;;
    pthread_h)
      check_compiles pthread_h c <<<'#include <pthread.h>' && r=0 ;;
    ucontext_h)
      check_compiles ucontext_h c <<<'#include <ucontext.h>' && r=0 ;;
    cet)
      check_compiles cet c -O2 -fcf-protection <<<'void foo (void) { asm ("setssbsy"); }' && r=0 ;;
    avx)
      check_compiles avx c -O2 -mavx <<<'void foo (void) { asm volatile ("vzeroall"); }' && r=0 ;;
    avx_runtime)
      eff_target avx && grep -qw avx /proc/cpuinfo 2>/dev/null && r=0 ;;
    *) UNKNOWN_KW+="${UNKNOWN_KW:+ }$kw"; r=1 ;;
  esac
  EFF[$kw]=$r
  return $r
}

# sel_opd TEXT: evaluate a DejaGnu/GCC target selector body (the part after
# "target"): a triplet glob, an effective-target keyword, a list of those
# (any matches), or an expression "! a", "a && b", "a || b" (operands may be
# braced sub-selectors).
sel_opd() {
  local x=$1
  local -a toks
  tcl_split "$x"; toks=("${TW[@]}")
  local n=${#toks[@]}
  if (( n == 0 )); then return 1; fi
  if (( n == 1 )); then
    local t=${toks[0]}
    if [[ $t == *[[:space:]]* ]]; then sel_opd "$t"; return; fi
    if [[ $t == *-* ]]; then
      # shellcheck disable=SC2053
      [[ $TRIPLET == $t ]]; return
    fi
    eff_target "$t"; return
  fi
  if (( n == 2 )) && [[ ${toks[0]} == '!' ]]; then
    if sel_opd "${toks[1]}"; then return 1; else return 0; fi
  fi
  if (( n == 3 )) && [[ ${toks[1]} == '&&' ]]; then
    sel_opd "${toks[0]}" && sel_opd "${toks[2]}"; return
  fi
  if (( n == 3 )) && [[ ${toks[1]} == '||' ]]; then
    sel_opd "${toks[0]}" || sel_opd "${toks[2]}"; return
  fi
  local t
  for t in "${toks[@]}"; do sel_opd "$t" && return 0; done
  return 1
}

# target_selected "target ..." -> 0 if selected. Sets SEL_ERR on bad syntax.
SEL_ERR=''
target_selected() {
  local sel=$1
  sel=${sel#"${sel%%[![:space:]]*}"}
  if [[ $sel != target[[:space:]]* ]]; then
    SEL_ERR="unsupported selector '$sel'"
    return 1
  fi
  sel_opd "${sel#target}"
}

# ------------------------------------------------------------ test parsing
# parse_test MEMBER -> sets T_STATUS (run|unsupported|error), T_REASON,
# T_OPTS (applicable dg-options), T_PROF (1 for tree-prof tests).
parse_test() {
  local file=$SRC/$1 line dname rest
  local -a w
  local have_opts=0 opts_seen=0 do_seen=0
  T_STATUS=run; T_REASON=''; T_OPTS=''; T_PROF=0
  UNKNOWN_KW=''; SEL_ERR=''
  [[ $1 == */tree-prof/* ]] && T_PROF=1
  local re='\{[[:space:]]+(dg-[-a-z]+)[[:space:]]+(.*)[[:space:]]+\}'
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ $re ]] || continue
    dname=${BASH_REMATCH[1]}; rest=${BASH_REMATCH[2]}
    tcl_split "$rest"; w=("${TW[@]}")
    case $dname in
      dg-do)
        do_seen=1
        if [[ ${w[0]:-} != run ]]; then
          T_STATUS=unsupported; T_REASON="dg-do ${w[0]:-?}: only run tests are handled"
        elif (( ${#w[@]} > 1 )) && ! target_selected "${w[1]}"; then
          T_STATUS=unsupported; T_REASON="dg-do run { ${w[1]} } does not select $TRIPLET"
        fi ;;
      dg-options)
        opts_seen=1
        if (( ${#w[@]} < 2 )) || target_selected "${w[1]}"; then
          T_OPTS=${w[0]:-}; have_opts=1     # the last applicable one wins
        fi ;;
      dg-require-effective-target)
        if (( ${#w[@]} < 2 )) || target_selected "${w[1]}"; then
          if ! eff_target "${w[0]:-}" && [[ $T_STATUS == run ]]; then
            T_STATUS=unsupported; T_REASON="effective target ${w[0]:-?} not available"
          fi
        fi ;;
      dg-final)
        T_STATUS=error; T_REASON="unhandled directive dg-final { $rest }" ;;
      *)
        T_STATUS=error; T_REASON="unhandled directive $dname" ;;
    esac
  done <"$file"
  if (( ! do_seen && ! T_PROF )); then
    # dg.exp's default action for gcc.dg is "compile": not a run test.
    [[ $T_STATUS == run ]] && { T_STATUS=unsupported; T_REASON="no dg-do run"; }
  fi
  if [[ $T_STATUS == run ]] && (( opts_seen && ! have_opts )); then
    T_STATUS=unsupported; T_REASON="no dg-options apply to $TRIPLET"
  fi
  if [[ -n $SEL_ERR ]]; then T_STATUS=error; T_REASON=$SEL_ERR; fi
  if [[ -n $UNKNOWN_KW ]]; then
    T_STATUS=error; T_REASON="unknown effective-target keyword(s): $UNKNOWN_KW"
  fi
  return 0
}

# ----------------------------------------------------------------- running
RT_FLAGS_PRE=()   # after the source file
case $RUNTIME in
  static) RT_FLAGS_PRE=("$LIBDIR/libsplitstack.a") ;;
  shared) RT_FLAGS_PRE=("-L$LIBDIR" -lsplitstack "-Wl,-rpath,$LIBDIR" -Wl,-z,now) ;;
esac
read -r -a extra_ld <<<"$EXTRA_LDFLAGS"

LIBGCC_RE='libgcc\.a\((morestack|generic-morestack|generic-morestack-thread)\.o\)'

# job helpers write into $dir: result (one line), details (shown on failure)
# build STEP EXE extra-flags... : compile+link; returns 0 on success
build() {
  local step=$1 exe=$2; shift 2
  local -a cmd=("$CC" -fdiagnostics-plain-output "${opts[@]}" "$@" "-fuse-ld=$ld"
                "$src" "${RT_FLAGS_PRE[@]}" -lm "${extra_ld[@]}" -o "$exe"
                "-Wl,-Map,$exe.map")
  printf '%q ' "${cmd[@]}" >>"$dir/commands"; echo >>"$dir/commands"
  (cd "$dir" && timeout -k 5 300 "${cmd[@]}") >"$dir/$step.out" 2>&1
  local rc=$?
  if (( rc != 0 )); then
    if [[ $ld == lld ]] && [[ " ${opts[*]} " == *" -fcf-protection"* ]] &&
       grep -q "couldn't adjust its prologue" "$dir/$step.out"; then
      echo "UNSUPPORTED" >"$dir/status"
      echo "lld cannot adjust -fcf-protection split-stack prologues" >"$dir/reason"
      return 1
    fi
    fail_with "$step: compile/link failed (exit $rc)" "$dir/$step.out"; return 1
  fi
  if [[ -s $dir/$step.out ]]; then
    # DejaGnu's "test for excess errors": any compiler/linker output fails.
    fail_with "$step: excess errors (compiler/linker output)" "$dir/$step.out"; return 1
  fi
  if [[ ! -f $exe.map ]]; then
    fail_with "$step: no link map written" /dev/null; return 1
  fi
  local hits
  hits=$(grep -Eo "$LIBGCC_RE" "$exe.map" | sort -u | tr '\n' ' ')
  case $RUNTIME in
    libgcc)
      # self-test of the map check: the baseline must show libgcc's runtime
      if [[ $hits != *'(morestack.o)'* ]]; then
        fail_with "$step: map check self-test: libgcc.a(morestack.o) not in link map" /dev/null
        return 1
      fi ;;
    static|shared)
      if [[ -n $hits ]]; then
        fail_with "$step: libgcc split-stack objects linked: ${hits% }" /dev/null; return 1
      fi
      if [[ $RUNTIME == static ]] && ! grep -q 'libsplitstack\.a(' "$exe.map"; then
        fail_with "$step: nothing from libsplitstack.a was linked" /dev/null; return 1
      fi
      if [[ $RUNTIME == shared ]] &&
         ! readelf -d "$exe" 2>/dev/null | grep -q 'NEEDED.*libsplitstack'; then
        fail_with "$step: executable does not need libsplitstack.so" /dev/null; return 1
      fi ;;
  esac
  return 0
}

run_exe() { # STEP EXE
  local step=$1 exe=$2 rc
  echo "(cd $dir && timeout $RUN_TIMEOUT $exe)" >>"$dir/commands"
  (cd "$dir" && exec timeout -k 5 "$RUN_TIMEOUT" "$exe") >"$dir/$step.out" 2>&1 </dev/null
  rc=$?
  (( rc == 0 )) && return 0
  local why="exit status $rc"
  if (( rc == 124 || rc == 137 )); then why="timed out after ${RUN_TIMEOUT}s"
  elif (( rc > 128 )); then why="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
  fi
  fail_with "$step: execution failed ($why)" "$dir/$step.out"
  return 1
}

fail_with() { # REASON OUTPUTFILE
  echo FAIL >"$dir/status"; echo "$1" >"$dir/reason"
  {
    echo "    --- commands:"; sed 's/^/    /' "$dir/commands" 2>/dev/null
    if [[ -s $2 ]]; then
      echo "    --- last lines of output ($(basename "$2")):"
      tail -n 20 "$2" | sed 's/^/    /'
    fi
  } >"$dir/details"
}

run_job() { # runs in a subshell; leaves status/reason/details in $dir
  echo PASS >"$dir/status"
  if (( prof )); then
    build build1 "$dir/$base.x01" -fprofile-generate -D_PROFILE_GENERATE -dumpbase-ext .x01 || return
    run_exe run1 "$dir/$base.x01" || return
    # The .gcda name follows the driver's dumpbase rules: split-1.gcda, or
    # split-1-split-1.gcda when an archive (libsplitstack.a) is a second input.
    # If build2 can't find it, -Wmissing-profile makes it an excess error.
    if ! compgen -G "$dir/*.gcda" >/dev/null; then
      fail_with "run1: no profile data (.gcda) was written" "$dir/run1.out"; return
    fi
    build build2 "$dir/$base.x02" -fprofile-use -D_PROFILE_USE -dumpbase-ext .x02 || return
    run_exe run2 "$dir/$base.x02" || return
  else
    build build "$dir/$base.exe" || return
    run_exe run "$dir/$base.exe" || return
  fi
}

# --------------------------------------------------------------- main loop
WORK=$SCRATCH/work/$RUNTIME
declare -a job_dirs=() job_names=() job_labels=()
passed=0 failed=0 skipped=0

selected() {
  [[ -z $TESTS ]] && return 0
  local p
  # shellcheck disable=SC2053
  for p in $TESTS; do [[ $1 == $p ]] && return 0; done
  return 1
}

running=0
for m in "${MEMBERS[@]}"; do
  name=${m%.c}
  selected "$name" || continue
  parse_test "$m"
  read -r -a opts <<<"$T_OPTS"
  prof=$T_PROF
  src=$SRC/$m
  base=$(basename "$name")
  for ld in "${linkers[@]}"; do
    dir=$WORK/$ld/$name
    rm -rf "$dir"; mkdir -p "$dir"
    job_dirs+=("$dir"); job_names+=("$name"); job_labels+=("$RUNTIME/$ld")
    case $T_STATUS in
      unsupported) echo UNSUPPORTED >"$dir/status"; echo "$T_REASON" >"$dir/reason"; continue ;;
      error) echo FAIL >"$dir/status"; echo "$T_REASON" >"$dir/reason"; continue ;;
    esac
    if [[ $ld == gold && " ${opts[*]} " == *" -fcf-protection"* ]]; then
      echo UNSUPPORTED >"$dir/status"
      echo "gold cannot link -fcf-protection split-stack code (failed to match split-stack sequence)" >"$dir/reason"
      continue
    fi
    while (( running >= JOBS )); do wait -n; (( running-- )); done
    # (stderr to a file: it catches bash's own "Segmentation fault" notices)
    run_job 2>"$dir/job.err" &
    (( running++ ))
  done
done
wait

for i in "${!job_dirs[@]}"; do
  dir=${job_dirs[$i]}
  status=$(cat "$dir/status" 2>/dev/null || echo FAIL)
  reason=$(cat "$dir/reason" 2>/dev/null || true)
  [[ $status == FAIL && -z $reason ]] && reason="job did not finish"
  line="$status gcc-suite/${job_names[$i]} [${job_labels[$i]}]"
  [[ -n $reason ]] && line+=" ($reason)"
  echo "$line"
  case $status in
    PASS) (( passed++ ))
          if [[ $VERBOSE == 1 && -f $dir/commands ]]; then sed 's/^/    /' "$dir/commands"; fi ;;
    UNSUPPORTED) (( skipped++ )) ;;
    *) (( failed++ ))
       [[ -f $dir/details ]] && cat "$dir/details" ;;
  esac
done

echo "gcc-suite: $passed passed, $failed failed, $skipped skipped"
(( failed == 0 && passed > 0 )) && exit 0
exit 1
