#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR VERSION: installs BUILD_DIR into a
# temporary prefix and checks it as Coda's build would use it. Prints each
# check; exits non-zero at the first that fails.
set -euo pipefail
build=$1 src=$2 version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
lib=$prefix/lib
export PKG_CONFIG_PATH=$lib/pkgconfig

echo "== every library name the original's builds use, with a .so.1 and a development link"
for n in rvm rvmpt rvmlwp seg segpt seglwp rds rdspt rdslwp; do
  for f in lib$n.so.1 lib$n.so; do
    [ -e "$lib/$f" ] || fail "$lib/$f is missing"
  done
  echo "lib$n.so.1 -> $(readlink -f "$lib/lib$n.so.1" | xargs basename)"
done

echo "== man pages, with this version"
for page in man1/rvm-log.1 man1/rvm-preload-restore.1 man3/rvm.3 man8/rdsinit.8 \
  man8/rvmutl.8 man8/rvm-logd.8; do
  f=$prefix/share/man/$page
  [ -s "$f" ] || fail "$f is missing"
  grep -q "$version" "$f" || fail "$f does not carry version $version"
done
echo "man pages installed"

echo "== rvm-logd's systemd unit and default config"
unit=$prefix/lib/systemd/system/rvm-logd.service
conf=$prefix/etc/rvm/rvm-logd.conf
[ -s "$unit" ] || fail "$unit is missing"
[ -s "$conf" ] || fail "$conf is missing"
grep -q "^Type=notify$" "$unit" || fail "$unit is not Type=notify"
# The unit names the configured prefix's paths (cmake -DCMAKE_INSTALL_PREFIX).
grep -Eq "^ExecStart=/.*/bin/rvm-logd --config /.*/rvm/rvm-logd.conf$" "$unit" ||
  fail "$unit does not run rvm-logd with its config file"
grep -q "^ExecReload=/bin/kill -HUP \$MAINPID$" "$unit" || fail "$unit: no ExecReload"
# The config as installed, and with every documented default uncommented, is
# accepted: the start then fails only at the (unresolvable) listen address.
sed -E 's/^#([a-z-]+ = )/\1/; /^(secret-file|port-file|rdma-listen|metrics-listen) =/d' \
  "$conf" >"$tmp/defaults.conf"
grep -q "^capacity = 1G$" "$tmp/defaults.conf" || fail "no defaults uncommented in $conf"
for c in "$conf" "$tmp/defaults.conf"; do
  out=$("$prefix/bin/rvm-logd" --config "$c" --listen 256.0.0.1:0 2>&1) && fail "rvm-logd started"
  case "$out" in *"cannot resolve listen address"*) ;; *) fail "rvm-logd --config $c: $out" ;; esac
done
echo "unit and config installed; the config's defaults are accepted"

echo "== every installed program answers --version with $version"
for prog in "$prefix"/bin/* "$prefix"/sbin/*; do
  out=$("$prog" --version) || fail "$prog --version exits non-zero"
  case "$out" in *"$version"*) echo "$out" ;; *) fail "$prog --version says '$out'" ;; esac
done

echo "== every installed program finds its libraries without LD_LIBRARY_PATH"
for prog in "$prefix"/bin/* "$prefix"/sbin/*; do
  missing=$(env -u LD_LIBRARY_PATH ldd "$prog" | grep 'not found' || true)
  [ -z "$missing" ] || fail "$prog: $missing"
  echo "$(basename "$prog"): libraries found"
done

echo "== one file mapped once, whatever names a program links and loads"
cflags=$(pkg-config --cflags rvm)
for libs in "-lrds -lseg -lrvmpt" "-lrdslwp -lsegpt -lrvm" "-lrdspt -lseglwp -lrvmlwp"; do
  echo "-- linked with: $libs"
  gcc -o "$tmp/one_rvm" "$src/one_rvm.c" $cflags -L"$lib" $libs -ldl -Wl,-rpath,"$lib"
  "$tmp/one_rvm" || fail "linked with $libs: more than one RVM in the process"
done

echo "== pkg-config: the original's version numbering and variables"
for pc in rvm rvmlwp; do
  [ "$(pkg-config --modversion $pc)" = "$version" ] || fail "$pc.pc version is not $version"
  pkg-config --atleast-version=1.29 $pc || fail "pkg-config --atleast-version=1.29 $pc fails"
  for var in RVMUTL RDSINIT; do
    p=$(pkg-config --variable=$var $pc)
    [ -x "$p" ] || fail "$pc.pc $var=$p is not an installed program"
  done
  echo "$pc $(pkg-config --modversion $pc): RVMUTL=$(pkg-config --variable=RVMUTL $pc)"
done

echo "== an autoconf project: PKG_CHECK_MODULES([RVM], [rvmlwp >= 1.29])"
proj=$tmp/autoconf-project
mkdir -p "$proj"
cp "$src/one_rvm.c" "$proj/"
cat >"$proj/configure.ac" <<'AC'
AC_INIT([uses-rvm], [1.0])
AC_PROG_CC
PKG_PROG_PKG_CONFIG
PKG_CHECK_MODULES([RVM], [rvmlwp >= 1.29])
AC_SUBST([RVMUTL], [`$PKG_CONFIG --variable=RVMUTL rvmlwp`])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
AC
cat >"$proj/Makefile.in" <<'MK'
one_rvm: one_rvm.c
	@CC@ @CFLAGS@ @RVM_CFLAGS@ -o $@ one_rvm.c @RVM_LIBS@ @LDFLAGS@ -ldl
check-rvmutl:
	test -x @RVMUTL@
MK
(cd "$proj" && aclocal -I /usr/share/aclocal >/dev/null && autoconf &&
  ./configure LDFLAGS="-Wl,-rpath,$lib" >configure.out &&
  make -s one_rvm check-rvmutl && ./one_rvm >/dev/null) ||
  fail "the autoconf project does not configure, build or run (see above)"
line=$(grep 'checking for rvmlwp' "$proj/configure.out") || fail "configure did not check for rvmlwp"
case "$line" in *yes) echo "configure: $line" ;; *) fail "configure: $line" ;; esac
echo "== a CMake project: find_package(rvm 1.29) and rvm::rds"
cproj=$tmp/cmake-project
mkdir -p "$cproj"
cp "$src/one_rvm.c" "$cproj/"
cat >"$cproj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(uses_rvm C)
find_package(rvm 1.29 REQUIRED)
add_executable(one_rvm one_rvm.c)
target_link_libraries(one_rvm PRIVATE rvm::rds ${CMAKE_DL_LIBS})
if(NOT EXISTS "${rvm_RVMUTL}")
  message(FATAL_ERROR "rvm_RVMUTL=${rvm_RVMUTL} does not exist")
endif()
CM
(cmake -S "$cproj" -B "$cproj/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null &&
  cmake --build "$cproj/build" >/dev/null && "$cproj/build/one_rvm" >/dev/null) ||
  fail "the CMake project does not configure, build or run"
echo "find_package(rvm): rvm::rds links and runs"
echo "all install checks passed"
