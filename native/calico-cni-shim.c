/*
 * calico-cni-shim: the `calico` and `calico-ipam` CNI executables, as a thin client of calico-node.
 *
 * Why: a container runtime starts the plugin once per call, and a Node process costs more to start
 * (~30 ms) than the reference Go plugins spend on the whole call. So the executable is this small
 * program, which hands the call to the calico-node already running on the host (its CNI server,
 * src/cni/server.ts) and relays the answer; the plugin logic stays in TypeScript, in one place.
 *
 * Which server: the one serving this process's network namespace, at
 *   ${CALICO_RUN_DIR:-/var/run/calico}/cni.<inode of /proc/self/ns/net>.sock
 * A runtime runs plugins in the host's namespace, and calico-node runs there too; keying by the
 * namespace lets several calico-node "hosts" (namespaces) share one machine and one run directory.
 *
 * Which plugin: `--plugin calico|calico-ipam` as the first arguments, else the base name of argv[0].
 *
 * Wire format (kept in step with src/cni/shim-protocol.ts): a 4-byte magic, then three fields, each
 * a 4-byte big-endian length and that many bytes.
 *   request  "CNI1"  plugin | environment (KEY=VALUE, each ended by NUL) | stdin
 *   reply    "CNR1"  exit code (decimal ASCII) | stdout | stderr
 * One request and one reply per connection; the shim half-closes after writing the request.
 * The environment carries one entry of ours, CALICO_CNI_NETNS_FD=<pid>:<fd>:<inode>: CNI_NETNS held
 * open by this process, for a calico-node in another mount namespace (see src/cni/server.ts).
 *
 * No server (the socket file is missing, or nobody listens on it: ENOENT, ECONNREFUSED): exec the
 * Node plugin that scripts/install-cni.sh writes next to this file, <dir>/calico-cni-direct/<plugin>,
 * before stdin is read, so it gets the runtime's stdin untouched. Any other failure (the server dies
 * mid-call, a reply that is not one, no answer for CALICO_CNI_TIMEOUT seconds, default 300) prints a
 * CNI error object on stdout and exits 1, so a runtime never mistakes a broken call for a success:
 * code 11 ("try again later") when the server went away or is silent, 999 when it answered
 * something this shim cannot read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

#define MAX_FIELD_BYTES (4u * 1024u * 1024u)
#define DIRECT_DIR "calico-cni-direct"
#define NETNS_FD_VARIABLE "CALICO_CNI_NETNS_FD"

struct buf {
  char *data;
  size_t len, cap;
};

static void buf_put(struct buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
      fputs("calico-cni-shim: out of memory\n", stderr);
      exit(1);
    }
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void buf_put_field(struct buf *b, const void *p, size_t n) {
  unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                          (unsigned char)n};
  buf_put(b, len, 4);
  buf_put(b, p, n);
}

/* The cniVersion the caller asked for, so an error object is in its version; "1.0.0" if none. */
static char cni_version[32] = "1.0.0";

static void remember_cni_version(const char *text, size_t len) {
  const char *key = "\"cniVersion\"";
  const char *end = text + len;
  const char *p = memmem(text, len, key, strlen(key));
  if (!p) return;
  p += strlen(key);
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')) p++;
  if (p >= end || *p != '"') return;
  p++;
  size_t n = 0;
  while (p + n < end && n < sizeof cni_version - 1 && ((p[n] >= '0' && p[n] <= '9') || p[n] == '.')) n++;
  if (n == 0 || p + n >= end || p[n] != '"') return;
  memcpy(cni_version, p, n);
  cni_version[n] = 0;
}

static void put_json_string(struct buf *b, const char *s) {
  buf_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      buf_put(b, "\\", 1);
      buf_put(b, s, 1);
    } else if (c < 0x20) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04x", c);
      buf_put(b, esc, 6);
    } else {
      buf_put(b, s, 1);
    }
  }
  buf_put(b, "\"", 1);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

/* Prints the CNI error object (CNI SPEC "Error") on stdout and exits 1. */
static void __attribute__((noreturn)) fail(int code, const char *msg, const char *details) {
  struct buf b = {0};
  char head[80];
  snprintf(head, sizeof head, "{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":", cni_version, code);
  buf_put(&b, head, strlen(head));
  put_json_string(&b, msg);
  buf_put(&b, ",\"details\":", 11);
  put_json_string(&b, details);
  buf_put(&b, "}\n", 2);
  write_all(1, b.data, b.len);
  exit(1);
}

/* Execs the Node plugin installed beside this executable; returns only if there is none. */
static void exec_direct_plugin(const char *plugin, char **argv, const char *socket_path) {
  char dirs[2][PATH_MAX];
  int ndirs = 0;
  if (strchr(argv[0], '/')) {
    snprintf(dirs[ndirs], PATH_MAX, "%s", argv[0]);
    *strrchr(dirs[ndirs], '/') = 0;
    ndirs++;
  }
  ssize_t n = readlink("/proc/self/exe", dirs[ndirs], PATH_MAX - 1);
  if (n > 0) {
    dirs[ndirs][n] = 0;
    char *slash = strrchr(dirs[ndirs], '/');
    if (slash) {
      *slash = 0;
      ndirs++;
    }
  }
  char path[PATH_MAX + 64] = "";
  for (int i = 0; i < ndirs; i++) {
    snprintf(path, sizeof path, "%s/%s/%s", dirs[i], DIRECT_DIR, plugin);
    if (access(path, X_OK) == 0) {
      argv[0] = path;
      execv(path, argv);
    }
  }
  char details[PATH_MAX * 2 + 256];
  snprintf(details, sizeof details,
           "no calico-node CNI server listens at %s and there is no Node plugin at %s; start calico-node "
           "in this network namespace, or re-run scripts/install-cni.sh",
           socket_path, path[0] ? path : DIRECT_DIR);
  fail(11, "the calico CNI plugin cannot run", details);
}

static uint32_t read_u32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int main(int argc, char **argv) {
  const char *plugin = NULL;
  char **plugin_argv = argv;
  if (argc >= 3 && strcmp(argv[1], "--plugin") == 0) {
    plugin = argv[2];
    argv[2] = argv[0];
    plugin_argv = argv + 2;
  } else {
    const char *slash = strrchr(argv[0], '/');
    plugin = slash ? slash + 1 : argv[0];
  }
  if (strcmp(plugin, "calico") != 0 && strcmp(plugin, "calico-ipam") != 0)
    fail(4, "calico-cni-shim does not know which plugin it is",
         "install it as `calico` or `calico-ipam`, or pass --plugin calico|calico-ipam");

  const char *run_dir = getenv("CALICO_RUN_DIR");
  if (!run_dir || !*run_dir) run_dir = "/var/run/calico";
  struct stat ns;
  if (stat("/proc/self/ns/net", &ns) != 0) fail(11, "cannot read /proc/self/ns/net", strerror(errno));
  char socket_path[PATH_MAX];
  snprintf(socket_path, sizeof socket_path, "%s/cni.%llu.sock", run_dir, (unsigned long long)ns.st_ino);

  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(socket_path) >= sizeof addr.sun_path)
    fail(7, "the CNI server socket path is too long", socket_path);
  strcpy(addr.sun_path, socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(11, "cannot create a unix socket", strerror(errno));
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    if (e == ENOENT || e == ECONNREFUSED) {
      close(fd);
      exec_direct_plugin(plugin, plugin_argv, socket_path);
    }
    char details[PATH_MAX + 64];
    snprintf(details, sizeof details, "%s: %s", socket_path, strerror(e));
    fail(11, "cannot reach calico-node's CNI server", details);
  }

  /* A server that accepts and then never answers (calico-node stuck) must not hold the runtime
   * forever: no byte for CALICO_CNI_TIMEOUT seconds (default 300) is error 11. */
  long timeout = 300;
  const char *timeout_text = getenv("CALICO_CNI_TIMEOUT");
  if (timeout_text && *timeout_text) {
    char *end;
    long v = strtol(timeout_text, &end, 10);
    if (*end == 0 && v > 0) timeout = v;
  }
  struct timeval tv = {.tv_sec = timeout};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  struct buf stdin_text = {0};
  char chunk[65536];
  for (;;) {
    ssize_t r = read(0, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(6, "cannot read the network configuration from stdin", strerror(errno));
    if (r == 0) break;
    buf_put(&stdin_text, chunk, (size_t)r);
    if (stdin_text.len > MAX_FIELD_BYTES) fail(6, "the network configuration on stdin is too large", "");
  }
  remember_cni_version(stdin_text.data ? stdin_text.data : "", stdin_text.len);

  /* CNI_NETNS names the namespace in this process's mount namespace, which calico-node may not share:
   * hold it open and tell the server where to find the descriptor (see src/cni/server.ts). */
  struct buf env = {0};
  const char *netns = getenv("CNI_NETNS");
  if (netns && *netns) {
    int nfd = open(netns, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (nfd >= 0 && fstat(nfd, &st) == 0) {
      char entry[96];
      snprintf(entry, sizeof entry, NETNS_FD_VARIABLE "=%d:%d:%llu", (int)getpid(), nfd,
               (unsigned long long)st.st_ino);
      buf_put(&env, entry, strlen(entry) + 1);
    }
  }
  for (char **e = environ; *e; e++)
    if (strncmp(*e, NETNS_FD_VARIABLE "=", strlen(NETNS_FD_VARIABLE) + 1) != 0)
      buf_put(&env, *e, strlen(*e) + 1);
  if (env.len > MAX_FIELD_BYTES) fail(4, "the environment is too large to pass to calico-node", "");

  struct buf req = {0};
  buf_put(&req, "CNI1", 4);
  buf_put_field(&req, plugin, strlen(plugin));
  buf_put_field(&req, env.data, env.len);
  buf_put_field(&req, stdin_text.data, stdin_text.len);
  for (size_t off = 0; off < req.len;) {
    ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail(11, "calico-node's CNI server went away while receiving the call", strerror(errno));
    off += (size_t)w;
  }
  shutdown(fd, SHUT_WR);

  struct buf reply = {0};
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      char details[64];
      snprintf(details, sizeof details, "no answer for %ld s (CALICO_CNI_TIMEOUT)", timeout);
      fail(11, "calico-node's CNI server did not answer in time", details);
    }
    if (r < 0) fail(11, "calico-node's CNI server went away during the call", strerror(errno));
    if (r == 0) break;
    buf_put(&reply, chunk, (size_t)r);
    if (reply.len > 3 * (size_t)MAX_FIELD_BYTES + 16)
      fail(999, "calico-node's CNI server sent an oversized reply", socket_path);
  }
  close(fd);

  const unsigned char *p = (const unsigned char *)reply.data;
  size_t at = 4;
  if (reply.len == 0)
    fail(11, "calico-node's CNI server closed the connection without answering",
         "calico-node may have stopped during the call; the runtime may retry");
  if (reply.len < 4 || memcmp(p, "CNR1", 4) != 0)
    fail(999, "calico-node's CNI server sent a reply this shim cannot read", "bad magic");
  const unsigned char *field[3];
  uint32_t flen[3];
  for (int i = 0; i < 3; i++) {
    if (reply.len < at + 4)
      fail(11, "calico-node's CNI server closed the connection in the middle of its reply",
           "calico-node may have stopped during the call; the runtime may retry");
    flen[i] = read_u32(p + at);
    if (flen[i] > MAX_FIELD_BYTES) fail(999, "calico-node's CNI server sent an oversized field", "");
    at += 4;
    if (reply.len < at + flen[i])
      fail(11, "calico-node's CNI server closed the connection in the middle of its reply",
           "calico-node may have stopped during the call; the runtime may retry");
    field[i] = p + at;
    at += flen[i];
  }
  if (at != reply.len) fail(999, "calico-node's CNI server sent bytes after its reply", "");
  int code = 0;
  if (flen[0] == 0 || flen[0] > 3) fail(999, "calico-node's CNI server sent a bad exit code", "");
  for (uint32_t i = 0; i < flen[0]; i++) {
    if (field[0][i] < '0' || field[0][i] > '9') fail(999, "calico-node's CNI server sent a bad exit code", "");
    code = code * 10 + (field[0][i] - '0');
  }
  if (code > 255) fail(999, "calico-node's CNI server sent a bad exit code", "");
  write_all(2, (const char *)field[2], flen[2]);
  write_all(1, (const char *)field[1], flen[1]);
  return code;
}
