#!/usr/bin/env bash
# Configures and compiles PostgreSQL (backend, tools, contrib) into a cached tree and
# installs a staging tree beside it. Everything lives outside target/ so that
# `mvn clean` never throws away the three-minute compile.
#
# Usage: build-postgres.sh <tarball> <tree-dir>
#   <tree-dir>/src     configured and compiled source tree
#   <tree-dir>/stage   `make install` of the same build (bin, lib, include, share)
#   <tree-dir>/.done   written last; its presence means the tree is complete
set -euo pipefail

tarball=$1 tree=$2
log() { echo "[pgembed] $*" >&2; }
step_start=$SECONDS
step() { log "$1 ($(( SECONDS - step_start )) s elapsed)"; }

if [[ -f $tree/.done ]]; then
	log "PostgreSQL tree up to date: $tree"
	exit 0
fi

rm -rf "$tree"
mkdir -p "$tree"
step "unpacking $(basename "$tarball")"
tar xjf "$tarball" -C "$tree"
mv "$tree"/postgresql-* "$tree/src"

cd "$tree/src"
# Configure choices follow from the runtime rule "glibc only": no ICU (the builtin
# C.UTF-8 provider covers UTF-8), no readline/zlib/zstd/lz4/openssl/libxml.
# WAIT_USE_SELF_PIPE: latches are woken through a pipe instead of SIGURG + signalfd,
# because in a multithreaded host any thread may take SIGURG and the wake-up is lost.
# EXEC_BACKEND: PostgreSQL's own way of starting a postmaster child from nothing (a
# parameter file, SubPostmasterMain, shared memory re-attached by address), used on
# Windows and buildable on Linux.  A child in a fresh dlmopen namespace is exactly such a
# child, so one build serves both the single-backend engines and a cluster with a real
# postmaster.  It also makes the main shared memory segment System V (no anonymous mmap).
step "configure"
./configure --prefix="$tree/stage" \
	--without-icu --without-readline --without-zlib --without-zstd --without-lz4 \
	--without-openssl --without-libxml --without-gssapi --without-ldap --without-pam \
	--disable-rpath \
	CFLAGS="-O2 -fPIC -g1" CPPFLAGS="-DWAIT_USE_SELF_PIPE -DEXEC_BACKEND" >"$tree/configure.log" 2>&1 \
	|| { tail -30 "$tree/configure.log" >&2; exit 1; }

# Calls between PostgreSQL's own functions need not be interposable: libpgembed.so binds them
# to itself (-Bsymbolic-functions in build-native.sh), so the compiler may call them directly
# and inline them. Make appends COPT to CFLAGS (Makefile.global).
export COPT="-fno-semantic-interposition"

jobs=$(nproc)
step "compiling the server and tools (make -j$jobs)"
make -j"$jobs" -s >"$tree/make.log" 2>&1 || { tail -40 "$tree/make.log" >&2; exit 1; }
step "compiling contrib"
make -j"$jobs" -s -C contrib >"$tree/make-contrib.log" 2>&1 || { tail -40 "$tree/make-contrib.log" >&2; exit 1; }
step "compiling the regression module"
make -j"$jobs" -s -C src/test/regress >"$tree/make-regress.log" 2>&1 || { tail -40 "$tree/make-regress.log" >&2; exit 1; }
step "installing the staging tree"
make -s install >"$tree/install.log" 2>&1 || { tail -40 "$tree/install.log" >&2; exit 1; }
make -s -C contrib install >>"$tree/install.log" 2>&1 || { tail -40 "$tree/install.log" >&2; exit 1; }
touch "$tree/.done"
step "PostgreSQL built"
