#!/bin/sh
# pkg/mkdeb.sh ROOT VERSION OUT — the Debian package of shapesync from a
# `make install DESTDIR=ROOT PREFIX=/usr` tree: adds the systemd units,
# /etc/shapesync/shapesync.env (a conffile), the nginx config as an
# example and the package's docs, compresses the man pages, computes
# Depends with dpkg-shlibdeps and builds OUT with dpkg-deb. Run by
# `make deb`; needs dpkg-dev (build-essential brings it).
set -eu

root=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(dirname "$root")
doc=$root/usr/share/doc/shapesync

install -d "$root/lib/systemd/system" "$root/etc/shapesync" "$doc/examples" \
	"$root/DEBIAN"
for u in shapesync-up.service shapesync-compact.service shapesync-compact.timer; do
	install -m 0644 "$here/pkg/$u" "$root/lib/systemd/system/$u"
done
install -m 0640 "$here/pkg/shapesync.env" "$root/etc/shapesync/shapesync.env"
cp -R "$here/deploy/nginx" "$doc/examples/nginx"
chmod -R u=rwX,go=rX "$doc/examples/nginx"
install -m 0644 "$here/README.md" "$doc/README.md"
install -m 0644 "$here/pkg/copyright" "$doc/copyright"
gzip -9n "$root"/usr/share/man/man*/*.[0-9]

# Depends: the shared libraries the programs link, at the versions this
# machine built against (dpkg-shlibdeps reads debian/control in its cwd).
mkdir -p "$work/debian"
printf 'Source: shapesync\n\nPackage: shapesync\nArchitecture: any\n' >"$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O -e root/usr/bin/* 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "mkdeb: error: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
rm -r "$work/debian"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$(dpkg --print-architecture)/" \
	-e "s/@DEPENDS@/$depends/" -e "s/@SIZE@/$size/" \
	"$here/pkg/control.in" >"$root/DEBIAN/control"
echo /etc/shapesync/shapesync.env >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
