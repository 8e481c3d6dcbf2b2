#!/usr/bin/env bash
# Builds the part of the container image that is not Easel's own code (easel-cli/target/image-root), for Jib to lay
# on an empty ("scratch") base: no registry is needed to build the image, and the image holds nothing but a Java
# runtime, the C library it links against and Easel.
#
#   image-root.sh clean <root>   remove a previous root (jlink refuses to write into an existing directory)
#   image-root.sh libs  <root>   after jlink wrote <root>/opt/java: add the shared libraries the runtime links
#                                against (found with ldd, copied from this machine), /etc/passwd and /etc/group
#                                with the unprivileged user the image runs as, and the writable /tmp and /data
#
# Why a hand-written script: a standard base (eclipse-temurin, distroless/java) lives in a registry that the build
# machines cannot reach; the few libraries the JDK needs are taken from the machine that builds, which is the same
# Debian the JDK was installed on. Building with -Djib.from.image=<a JRE image> skips none of this but puts the
# image on that base instead (docs/deploy.md).
set -euo pipefail

mode="${1:?usage: image-root.sh clean|libs <root>}"
root="${2:?usage: image-root.sh clean|libs <root>}"

case "$mode" in
  clean)
    rm -rf "$root"
    mkdir -p "$root/opt"
    ;;
  libs)
    [ -x "$root/opt/java/bin/java" ] || { echo "image-root.sh: $root/opt/java/bin/java is missing (jlink did not run?)" >&2; exit 1; }
    command -v ldd >/dev/null || { echo "image-root.sh: ldd is needed to find the runtime's libraries" >&2; exit 1; }
    # A server without a display or sound card (the image runs with java.awt.headless=true): the parts of the
    # runtime that need X11 or ALSA go, so their libraries do not come in (image inspection and masks use
    # java.desktop's headless imaging only).
    rm -f "$root"/opt/java/lib/{libawt_xawt.so,libjawt.so,libsplashscreen.so,libjsound.so}
    # Every library any binary or shared object of the runtime needs, outside the runtime itself.
    mapfile -t libs < <(find "$root/opt/java" -type f \( -name '*.so' -o -perm -u+x \) -print0 \
        | xargs -0 -n 50 ldd 2>/dev/null \
        | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' \
        | grep -v "^$root/" | sort -u)
    [ "${#libs[@]}" -gt 0 ] || { echo "image-root.sh: ldd found no libraries for the runtime" >&2; exit 1; }
    for lib in "${libs[@]}"; do
      # Keep the path the dynamic loader looks for; copy the file the link points to under that name.
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
    # The loader is also reached through /lib64 on x86-64; Debian's /lib64 entry is a link into /lib.
    if [ -e /lib64/ld-linux-x86-64.so.2 ] && [ ! -e "$root/lib64/ld-linux-x86-64.so.2" ]; then
      mkdir -p "$root/lib64"
      cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
    fi
    mkdir -p "$root/etc" "$root/tmp" "$root/data" "$root/config"
    # uid 65532 is distroless's "nonroot": Java asks the C library for the user's home directory at start-up.
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
    # Host names resolve through /etc/hosts, then DNS (the runtime mounts /etc/hosts and /etc/resolv.conf).
    printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
    mkdir -p "$root/home/nonroot"
    ;;
  *)
    echo "image-root.sh: unknown mode '$mode' (clean or libs)" >&2
    exit 1
    ;;
esac
