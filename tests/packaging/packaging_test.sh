#!/usr/bin/env bash
# packaging_test.sh BUILD_DIR VERSION LOGD_UNIT LOGD_CONF: builds the Debian
# packages of BUILD_DIR with cpack into a temporary directory and checks them:
# the control fields, the file lists, that every installed file is in exactly
# one package (rvm-commit-bench in none), that every library a packaged
# program needs comes from the package or its Depends, and lintian (an error
# fails the test; warnings are printed). LOGD_UNIT/LOGD_CONF: 1 when the tree
# has rvm-logd's systemd unit / default config (cmake/Packaging.cmake).
# Prints each check; exits non-zero at the first that fails.
set -euo pipefail
build=$1 version=$2 has_unit=$3 has_conf=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
arch=$(dpkg --print-architecture)
debver=$version-1
packages="librvm1 librvm-dev rvm-tools rvm-logd"
libnames="rvm rvmpt rvmlwp seg segpt seglwp rds rdspt rdslwp"

echo "== cpack"
cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; fail "cpack failed"; }
for p in $packages; do
  deb=$tmp/out/${p}_${debver}_$arch.deb
  [ -f "$deb" ] || { ls "$tmp/out"; fail "$deb was not built"; }
  mkdir -p "$tmp/$p"
  dpkg-deb -e "$deb" "$tmp/$p/control"
  dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|' | grep -v '/$' | sort >"$tmp/$p/files"
  echo "$p: $(wc -l <"$tmp/$p/files") files"
done
deb() { echo "$tmp/out/${1}_${debver}_$arch.deb"; }
field() { dpkg-deb -f "$(deb "$1")" "$2"; }
has() { grep -qxF "$2" "$tmp/$1/files" || fail "$1 lacks $2"; }

echo "== control fields"
declare -A section=([librvm1]=libs [librvm-dev]=libdevel [rvm-tools]=admin [rvm-logd]=net)
for p in $packages; do
  [ "$(field "$p" Package)" = "$p" ] || fail "$p: Package is $(field "$p" Package)"
  [ "$(field "$p" Version)" = "$debver" ] || fail "$p: Version is $(field "$p" Version), not $debver"
  [ "$(field "$p" Section)" = "${section[$p]}" ] || fail "$p: Section is $(field "$p" Section)"
  [ "$(field "$p" Priority)" = optional ] || fail "$p: Priority is $(field "$p" Priority)"
  [ "$(field "$p" Source)" = rvm-remote ] || fail "$p: Source is $(field "$p" Source)"
  [ -n "$(field "$p" Maintainer)" ] || fail "$p: no Maintainer"
  desc=$(field "$p" Description)
  [ "$(echo "$desc" | wc -l)" -ge 3 ] || fail "$p: no long Description"
  echo "$p $(field "$p" Version) [$(field "$p" Section)]: $(echo "$desc" | head -1)"
  echo "  Depends: $(field "$p" Depends)"
done
field librvm1 Depends | grep -q 'libc6' || fail "librvm1 does not depend on libc6 (dpkg-shlibdeps)"
field librvm1 Depends | grep -q 'liburing2' || fail "librvm1 does not depend on liburing2"
for p in librvm-dev rvm-tools; do
  field "$p" Depends | grep -qF "librvm1 (= $debver)" || fail "$p does not depend on librvm1 (= $debver)"
done
field rvm-logd Depends | grep -qw adduser || fail "rvm-logd does not depend on adduser (its postinst runs it)"

echo "== librvm1: shlibs and the ldconfig trigger, no ldconfig in maintainer scripts"
for n in rvm seg rds; do
  grep -qxF "lib$n 1 librvm1 (>= $debver)" "$tmp/librvm1/control/shlibs" ||
    { cat "$tmp/librvm1/control/shlibs"; fail "shlibs lacks lib$n 1 librvm1 (>= $debver)"; }
done
grep -qx 'activate-noawait ldconfig' "$tmp/librvm1/control/triggers" || fail "librvm1 has no ldconfig trigger"
! grep -qs ldconfig "$tmp/librvm1/control/postinst" "$tmp/librvm1/control/postrm" ||
  fail "librvm1's maintainer scripts call ldconfig (the trigger does it)"
echo "$(cat "$tmp/librvm1/control/shlibs" | tr '\n' ';')"

echo "== file lists"
for n in $libnames; do
  has librvm1 /usr/lib/lib$n.so.1
  has librvm-dev /usr/lib/lib$n.so
done
for n in rvm seg rds; do has librvm1 /usr/lib/lib$n.so.1.2.9; done
has librvm1 /usr/lib/librvmshim-preload.so
for f in /usr/include/rvm/rvm.h /usr/include/rvm/rvm_segment.h /usr/include/rvm/rds.h \
  /usr/lib/pkgconfig/rvm.pc /usr/lib/pkgconfig/rvmlwp.pc /usr/lib/cmake/rvm/rvmConfig.cmake \
  /usr/lib/cmake/rvm/rvmConfigVersion.cmake /usr/share/man/man3/rvm.3.gz; do
  has librvm-dev "$f"
done
for f in /usr/sbin/rvmutl /usr/sbin/rdsinit /usr/bin/rvm-log /usr/bin/rvm-preload-restore \
  /usr/share/man/man8/rvmutl.8.gz /usr/share/man/man8/rdsinit.8.gz \
  /usr/share/man/man1/rvm-log.1.gz /usr/share/man/man1/rvm-preload-restore.1.gz; do
  has rvm-tools "$f"
done
has rvm-logd /usr/bin/rvm-logd
has rvm-logd /usr/share/man/man8/rvm-logd.8.gz
if [ "$has_unit" = 1 ]; then
  unit=$(grep -E '^(/usr)?/lib/systemd/system/rvm-logd\.service$' "$tmp/rvm-logd/files") ||
    fail "rvm-logd lacks lib/systemd/system/rvm-logd.service"
  for s in postinst prerm postrm; do
    grep -q "deb-systemd-" "$tmp/rvm-logd/control/$s" || fail "rvm-logd's $s does not handle the unit"
  done
  echo "rvm-logd: systemd unit and its maintainer-script handling"
fi
if [ "$has_conf" = 1 ]; then
  has rvm-logd /etc/rvm/rvm-logd.conf
  grep -qx /etc/rvm/rvm-logd.conf "$tmp/rvm-logd/control/conffiles" ||
    fail "/etc/rvm/rvm-logd.conf is not a conffile"
  echo "rvm-logd: /etc/rvm/rvm-logd.conf, a conffile"
fi
grep -q 'adduser --system' "$tmp/rvm-logd/control/postinst" || fail "rvm-logd's postinst adds no system user"
for p in $packages; do
  has "$p" /usr/share/doc/$p/copyright
  has "$p" /usr/share/doc/$p/changelog.Debian.gz
  if grep -v '\.gz$' "$tmp/$p/files" | grep -q '^/usr/share/man/'; then
    fail "$p has an uncompressed man page"
  fi
done
mkdir -p "$tmp/x"
dpkg-deb -x "$(deb librvm1)" "$tmp/x"
dpkg-deb -x "$(deb librvm-dev)" "$tmp/x"
dpkg-deb -x "$(deb rvm-tools)" "$tmp/x"
dpkg-deb -x "$(deb rvm-logd)" "$tmp/x"
zcat "$tmp/x/usr/share/doc/librvm1/changelog.Debian.gz" | head -1 | grep -qF "rvm-remote ($debver)" ||
  fail "changelog.Debian.gz's first entry is not $debver"
for page in "$tmp"/x/usr/share/man/man*/*.gz; do
  zcat "$page" | grep -qF "$version" || fail "$page does not carry version $version"
done
grep -qx "Version: $version" "$tmp/x/usr/lib/pkgconfig/rvm.pc" || fail "rvm.pc is not version $version"
echo "man pages, rvm.pc and changelog.Debian.gz carry $version"
if [ "$has_unit" = 1 ]; then
  # The unit runs the packaged daemon with the packaged config path.
  exec_start=$(sed -n 's/^ExecStart=//p' "$tmp/x$unit")
  daemon=${exec_start%% *}
  has rvm-logd "$daemon"
  case "$exec_start" in *"/usr/local/"*) fail "unit: ExecStart=$exec_start names /usr/local" ;; esac
  if [ "$has_conf" = 1 ]; then
    case "$exec_start" in *"--config "*) case "$exec_start" in *"--config /etc/rvm/rvm-logd.conf"*) ;;
      *) fail "unit: ExecStart=$exec_start does not read /etc/rvm/rvm-logd.conf" ;; esac ;; esac
  fi
  echo "unit: ExecStart=$exec_start"
fi
for n in rvm seg rds; do
  [ "$(readlink "$tmp/x/usr/lib/lib${n}pt.so.1")" = "lib$n.so.1.2.9" ] ||
    fail "lib${n}pt.so.1 does not point to lib$n.so.1.2.9"
done

echo "== every installed file is in exactly one package (rvm-commit-bench in none)"
cmake --install "$build" --prefix "$tmp/plain" >/dev/null
cmake --install "$build" --prefix "$tmp/bench" --component bench >/dev/null
(cd "$tmp/bench" && find . ! -type d | sed 's|^\./||') | sort >"$tmp/bench.files"
(cd "$tmp/plain" && find . ! -type d | sed 's|^\./||') | sort |
  comm -23 - "$tmp/bench.files" |
  sed -e 's|^etc/|/etc/|' -e '\|^/etc/|!s|^|/usr/|' -e 's|^\(/usr/share/man/.*\)$|\1.gz|' |
  sort >"$tmp/installed.files"
cat "$tmp"/{librvm1,librvm-dev,rvm-tools,rvm-logd}/files |
  grep -v -e '^/usr/share/doc/' -e '^/usr/share/lintian/overrides/' | sort >"$tmp/packaged.files"
dups=$(uniq -d "$tmp/packaged.files")
[ -z "$dups" ] || fail "in more than one package: $dups"
if ! diff "$tmp/installed.files" "$tmp/packaged.files" >"$tmp/diff"; then
  cat "$tmp/diff"
  fail "installed files (<) and packaged files (>) differ: give each install() a COMPONENT (cmake/Packaging.cmake)"
fi
echo "$(wc -l <"$tmp/installed.files") installed files, each in one package"

echo "== every library a packaged program or library needs is in the package or its Depends"
for p in $packages; do
  deps=" $p $(field "$p" Depends | sed -e 's/([^)]*)//g' -e 's/[,|]/ /g') "
  while read -r f; do
    elf=$tmp/x$f
    [ -f "$elf" ] && [ ! -L "$elf" ] && head -c4 "$elf" | grep -q ELF || continue
    for lib in $(objdump -p "$elf" | awk '$1 == "NEEDED" { print $2 }'); do
      if [ -e "$tmp/x/usr/lib/$lib" ]; then owner=librvm1; else
        path=$(LD_LIBRARY_PATH=$tmp/x/usr/lib ldd "$elf" | awk -v l="$lib" '$1 == l { print $3 } $1 ~ "/" l "$" { print $1 }')
        [ -n "$path" ] || fail "$f needs $lib, which is not found"
        owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null ||
          dpkg -S "${path#/usr}" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null || true)
        owner=${owner%%:*}
        [ -n "$owner" ] || fail "$f needs $lib ($path), which no Debian package provides"
      fi
      case "$deps" in *" $owner "*) ;; *) fail "$p: $f needs $lib from $owner, not in Depends:$deps" ;; esac
    done
  done <"$tmp/$p/files"
  echo "$p: libraries covered by Depends"
done

echo "== lintian (errors fail)"
lintian --fail-on error --display-info --tag-display-limit 0 --color never \
  "$(deb librvm1)" "$(deb librvm-dev)" "$(deb rvm-tools)" "$(deb rvm-logd)" >"$tmp/lintian.out" 2>&1 ||
  { cat "$tmp/lintian.out"; fail "lintian reports errors"; }
cat "$tmp/lintian.out"
echo "lintian: $(grep -c '^E:' "$tmp/lintian.out" || true) errors, $(grep -c '^W:' "$tmp/lintian.out" || true) warnings, $(grep -c '^I:' "$tmp/lintian.out" || true) info"
echo "all packaging checks passed"
