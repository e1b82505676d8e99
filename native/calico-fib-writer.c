/*
 * calico-fib-writer: writes BGP routes into the kernel over rtnetlink, many per system call.
 *
 * Why: `ip -batch` sends one route, waits for its acknowledgement, parses the next text line, and
 * so spends ~20 us per route; a full table of 500k routes took 11 s that way. Here the routes are
 * packed into large sendmsg() calls (the kernel processes every message of a call before sendmsg
 * returns, and queues an answer for each one it refuses), so the cost per route is the kernel's own. The decisions (what to write, what a
 * failure means, when to resync) stay in TypeScript (src/bgp/fib/netlink-writer.ts); this program
 * is a thin, long-lived adapter that calico-node spawns in its own network namespace.
 *
 * Protocol: text lines on stdin, text lines on stdout; fields separated by one space.
 *
 *   stdin
 *     A <seq> <prefix> <gw> [<gw> ...]  add or replace our route for prefix (several gateways: ECMP,
 *                                       one RTA_MULTIPATH route)
 *     D <seq> <prefix>                  delete our route for prefix
 *     B <seq>                           barrier: answer once every earlier op has been answered
 *     L <seq> <4|6>                     list our routes of one family (table main, our protocol)
 *
 *   stdout
 *     F <seq> <errno> <text>            op <seq> failed (the kernel's errno and message)
 *     B <seq> ok|unknown                every op before the barrier is answered; `unknown`: some
 *                                       answers were lost (ENOBUFS) or a send failed, so the kernel
 *                                       state is not known: the caller reads it back (full sync)
 *     R <prefix> [<gw> ...]             one route of a listing
 *     L <seq> ok|error <text>           end of a listing
 *
 * <seq> is a decimal number chosen by the caller (used as the netlink sequence number, so 32 bits).
 * Every route carries protocol 81 (or --proto N) and goes to the main table. --rcvbuf BYTES sets the
 * netlink receive buffer (default 64 MiB), for tests that need the kernel to drop answers. The program exits 0
 * when stdin closes, after answering everything it was sent; 2 on a malformed line or a netlink
 * socket it cannot open (the message on stderr).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

#define MAX_GATEWAYS 64
/* Upper bound of one route message: header, rtmsg, destination, and a multipath of MAX_GATEWAYS. */
#define MAX_ROUTE_MSG 4096
#define SEND_LIMIT (256 * 1024)
#define RCVBUF_WANTED (64 * 1024 * 1024)
#define SNDBUF_WANTED (4 * 1024 * 1024)
/* Socket-buffer accounting charges each queued ACK far more than its 36 bytes (the skb's truesize). */
#define ACK_COST_ESTIMATE 1024

static unsigned char proto = 81;
static int nl_write = -1;
static int nl_list = -1;

static unsigned char sendbuf[SEND_LIMIT + MAX_ROUTE_MSG];
static size_t send_len;
static size_t send_msgs;
static size_t send_byte_limit = SEND_LIMIT;
static size_t send_msg_limit = 4096;
/* sendmsg() calls so far: after each, stdin is read again. */
static unsigned long sends;

/* Barriers sent to the kernel (as acknowledged no-op messages) and not yet answered, in order. */
static uint32_t *barriers;
static size_t barrier_count, barrier_cap;
/* Set when answers may have been lost since the last answered barrier. */
static int state_unknown;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("calico-fib-writer: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static int open_netlink(int rcvbuf) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) die("cannot open a NETLINK_ROUTE socket: %s", strerror(errno));
  /* FORCE needs CAP_NET_ADMIN; without it the plain option gets what net.core.rmem_max allows. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int sndbuf = SNDBUF_WANTED;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  int one = 1;
  /* ACKs without a copy of the request, and with the kernel's error text when there is one. */
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0)
    die("cannot bind the netlink socket: %s", strerror(errno));
  return fd;
}

/* Keeps each sendmsg within the send buffer, and its answers (all refusals, at worst) within the
 * receive buffer. */
static void size_batches(void) {
  int rcv = 0, snd = 0;
  socklen_t len = sizeof rcv;
  getsockopt(nl_write, SOL_SOCKET, SO_RCVBUF, &rcv, &len);
  len = sizeof snd;
  getsockopt(nl_write, SOL_SOCKET, SO_SNDBUF, &snd, &len);
  if (snd > 0 && (size_t)snd / 2 < send_byte_limit) send_byte_limit = (size_t)snd / 2;
  if (send_byte_limit < MAX_ROUTE_MSG) send_byte_limit = MAX_ROUTE_MSG;
  size_t acks = rcv > 0 ? (size_t)rcv / 2 / ACK_COST_ESTIMATE : 64;
  send_msg_limit = acks < 16 ? 16 : acks;
}

static void add_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len) {
  struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(rta), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

struct address {
  int family;
  int bytes;
  unsigned char data[16];
};

static int parse_address(const char *text, struct address *out) {
  out->family = strchr(text, ':') ? AF_INET6 : AF_INET;
  out->bytes = out->family == AF_INET6 ? 16 : 4;
  return inet_pton(out->family, text, out->data) == 1 ? 0 : -1;
}

static int parse_prefix(char *text, struct address *out, int *length) {
  char *slash = strchr(text, '/');
  if (!slash) return -1;
  *slash = 0;
  int bad = parse_address(text, out);
  *slash = '/';
  if (bad) return -1;
  char *end;
  long n = strtol(slash + 1, &end, 10);
  if (*end || end == slash + 1 || n < 0 || n > out->bytes * 8) return -1;
  *length = (int)n;
  return 0;
}

static void flush_sends(void);

static struct nlmsghdr *reserve_message(void) {
  if (send_len + MAX_ROUTE_MSG > send_byte_limit || send_msgs >= send_msg_limit) flush_sends();
  struct nlmsghdr *h = (struct nlmsghdr *)(sendbuf + send_len);
  memset(h, 0, MAX_ROUTE_MSG);
  return h;
}

static void commit_message(struct nlmsghdr *h) {
  send_len += NLMSG_ALIGN(h->nlmsg_len);
  send_msgs++;
}

static void begin_route(struct nlmsghdr *h, int type, int flags, uint32_t seq, const struct address *dst,
                        int dst_len) {
  h->nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  h->nlmsg_type = type;
  /* No NLM_F_ACK: the kernel answers a refused request anyway (netlink_rcv_skb acks every error),
   * and the barrier's ACK after it says that everything before it was processed. Asking for an
   * ACK per route cost a quarter of the kernel time of a full table (3.4 s vs 2.6 s for 500k). */
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_seq = seq;
  struct rtmsg *rt = NLMSG_DATA(h);
  rt->rtm_family = dst->family;
  rt->rtm_dst_len = dst_len;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = proto;
  if (type == RTM_NEWROUTE) {
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
  } else {
    rt->rtm_scope = RT_SCOPE_NOWHERE; /* as `ip route del`: match any scope */
  }
  add_attr(h, RTA_DST, dst->data, dst->bytes);
}

static void emit(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
}

static void fail_op(uint32_t seq, int err, const char *text) {
  emit("F %u %d %s\n", seq, err, text);
}

/* `A <seq> <prefix> <gw>...`: fields[0] is the seq. */
static void op_replace(uint32_t seq, char **fields, int n) {
  struct address dst, gw[MAX_GATEWAYS];
  int dst_len;
  if (n < 3) { fail_op(seq, EINVAL, "Invalid argument: A needs a prefix and a gateway"); return; }
  if (n - 2 > MAX_GATEWAYS) { fail_op(seq, E2BIG, "Argument list too long: too many gateways"); return; }
  if (parse_prefix(fields[1], &dst, &dst_len)) { fail_op(seq, EINVAL, "Invalid argument: bad prefix"); return; }
  int gws = n - 2;
  for (int i = 0; i < gws; i++) {
    if (parse_address(fields[2 + i], &gw[i]) || gw[i].family != dst.family)
      { fail_op(seq, EINVAL, "Invalid argument: bad gateway (or not the prefix's family)"); return; }
  }
  struct nlmsghdr *h = reserve_message();
  begin_route(h, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, seq, &dst, dst_len);
  if (gws == 1) {
    add_attr(h, RTA_GATEWAY, gw[0].data, gw[0].bytes);
  } else {
    struct rtattr *mp = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    mp->rta_type = RTA_MULTIPATH;
    size_t off = RTA_LENGTH(0);
    for (int i = 0; i < gws; i++) {
      struct rtnexthop *nh = (struct rtnexthop *)((char *)mp + off);
      memset(nh, 0, sizeof *nh);
      struct rtattr *a = RTNH_DATA(nh);
      a->rta_type = RTA_GATEWAY;
      a->rta_len = RTA_LENGTH(gw[i].bytes);
      memcpy(RTA_DATA(a), gw[i].data, gw[i].bytes);
      nh->rtnh_len = RTNH_LENGTH(RTA_ALIGN(a->rta_len));
      off += RTNH_ALIGN(nh->rtnh_len);
    }
    mp->rta_len = off;
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(off);
  }
  commit_message(h);
}

static void op_delete(uint32_t seq, char **fields, int n) {
  struct address dst;
  int dst_len;
  if (n != 2 || parse_prefix(fields[1], &dst, &dst_len))
    { fail_op(seq, EINVAL, "Invalid argument: D needs one prefix"); return; }
  struct nlmsghdr *h = reserve_message();
  begin_route(h, RTM_DELROUTE, 0, seq, &dst, dst_len);
  commit_message(h);
}

/* A barrier is an acknowledged NLMSG_NOOP: the kernel answers it after everything sent before it. */
static void op_barrier(uint32_t seq) {
  struct nlmsghdr *h = reserve_message();
  h->nlmsg_len = NLMSG_LENGTH(0);
  h->nlmsg_type = NLMSG_NOOP;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  h->nlmsg_seq = seq;
  commit_message(h);
  if (barrier_count == barrier_cap) {
    barrier_cap = barrier_cap ? barrier_cap * 2 : 16;
    barriers = realloc(barriers, barrier_cap * sizeof *barriers);
    if (!barriers) die("out of memory");
  }
  barriers[barrier_count++] = seq;
  flush_sends();
}

static void answer_barriers_up_to(uint32_t seq) {
  size_t i = 0;
  while (i < barrier_count) {
    uint32_t b = barriers[i++];
    emit("B %u %s\n", b, state_unknown ? "unknown" : "ok");
    if (b == seq) break;
  }
  if (i > 0) state_unknown = 0;
  memmove(barriers, barriers + i, (barrier_count - i) * sizeof *barriers);
  barrier_count -= i;
  fflush(stdout);
}

static int is_barrier(uint32_t seq) {
  for (size_t i = 0; i < barrier_count; i++)
    if (barriers[i] == seq) return 1;
  return 0;
}

/* The kernel's own words for a failure (NLMSGERR_ATTR_MSG), when it gave any. */
static const char *extack_message(const struct nlmsghdr *h) {
  const struct nlmsgerr *e = NLMSG_DATA(h);
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return NULL;
  size_t off = NLMSG_HDRLEN + sizeof *e;
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
  while (off + sizeof(struct nlattr) <= h->nlmsg_len) {
    const struct nlattr *a = (const struct nlattr *)((const char *)h + off);
    if (a->nla_len < sizeof *a || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > sizeof *a) {
      const char *s = (const char *)a + NLA_HDRLEN;
      if (memchr(s, 0, a->nla_len - NLA_HDRLEN)) return s;
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return NULL;
}

static void handle_ack(const struct nlmsghdr *h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return;
  const struct nlmsgerr *e = NLMSG_DATA(h);
  if (e->error != 0) {
    const char *detail = extack_message(h);
    char text[512];
    snprintf(text, sizeof text, "%s%s%s", strerror(-e->error), detail ? ": " : "", detail ? detail : "");
    fail_op(h->nlmsg_seq, -e->error, text);
  }
  if (is_barrier(h->nlmsg_seq)) answer_barriers_up_to(h->nlmsg_seq);
}

static unsigned char recvbuf[1 << 20];

/* Reads every answer queued on the write socket, without waiting for more. */
static void drain_answers(void) {
  for (;;) {
    ssize_t n = recv(nl_write, recvbuf, sizeof recvbuf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        state_unknown = 1; /* answers were dropped: which ops failed is not known any more */
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      die("reading netlink answers: %s", strerror(errno));
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)recvbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR) handle_ack(h);
    }
  }
}

static void flush_sends(void) {
  if (send_len == 0) return;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  struct iovec iov = {.iov_base = sendbuf, .iov_len = send_len};
  struct msghdr msg = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1};
  sends++;
  for (;;) {
    ssize_t n = sendmsg(nl_write, &msg, 0);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    /* The kernel took none of these: report the state as unknown, and move on. */
    state_unknown = 1;
    fprintf(stderr, "calico-fib-writer: sendmsg of %zu routes failed: %s\n", send_msgs, strerror(errno));
    break;
  }
  send_len = 0;
  send_msgs = 0;
  /* The kernel processed the whole batch inside sendmsg: its answers are all queued now, so a
   * barrier still unanswered after the drain lost its answer (or was never sent). */
  drain_answers();
  if (barrier_count > 0) {
    state_unknown = 1;
    answer_barriers_up_to(barriers[barrier_count - 1]);
  }
}

/* `L <seq> <4|6>`: a dump of our routes, on its own socket so it never mixes with write answers. */
static void op_list(uint32_t seq, char **fields, int n) {
  flush_sends();
  int family = n == 2 && strcmp(fields[1], "6") == 0 ? AF_INET6 : AF_INET;
  if (n != 2 || (strcmp(fields[1], "4") && strcmp(fields[1], "6"))) {
    emit("L %u error L needs a family, 4 or 6\n", seq);
    fflush(stdout);
    return;
  }
  if (nl_list < 0) {
    nl_list = open_netlink(8 * 1024 * 1024);
    int one = 1;
    /* Lets the kernel filter by table and protocol (Linux 4.20+); we filter again below anyway. */
    setsockopt(nl_list, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  }
  struct {
    struct nlmsghdr h;
    struct rtmsg r;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_GETROUTE;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = seq;
  req.r.rtm_family = family;
  req.r.rtm_table = RT_TABLE_MAIN;
  req.r.rtm_protocol = proto;
  if (send(nl_list, &req, sizeof req, 0) < 0) {
    emit("L %u error %s\n", seq, strerror(errno));
    fflush(stdout);
    return;
  }
  int bytes = family == AF_INET6 ? 16 : 4;
  char text[INET6_ADDRSTRLEN];
  for (;;) {
    ssize_t got = recv(nl_list, recvbuf, sizeof recvbuf, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      emit("L %u error %s\n", seq, strerror(errno));
      fflush(stdout);
      return;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)recvbuf; NLMSG_OK(h, (size_t)got); h = NLMSG_NEXT(h, got)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) {
        emit("L %u ok\n", seq);
        fflush(stdout);
        return;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        emit("L %u error %s\n", seq, strerror(-e->error));
        fflush(stdout);
        return;
      }
      if (h->nlmsg_type != RTM_NEWROUTE) continue;
      struct rtmsg *rt = NLMSG_DATA(h);
      if (rt->rtm_family != family || rt->rtm_protocol != proto) continue;
      unsigned table = rt->rtm_table;
      const unsigned char *dst = NULL;
      int len = RTM_PAYLOAD(h);
      struct rtattr *gateway = NULL, *multipath = NULL;
      for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == RTA_TABLE) table = *(unsigned *)RTA_DATA(a);
        else if (a->rta_type == RTA_DST) dst = RTA_DATA(a);
        else if (a->rta_type == RTA_GATEWAY) gateway = a;
        else if (a->rta_type == RTA_MULTIPATH) multipath = a;
      }
      if (table != RT_TABLE_MAIN) continue;
      unsigned char zero[16] = {0};
      inet_ntop(family, dst ? dst : zero, text, sizeof text);
      emit("R %s/%u", text, rt->rtm_dst_len);
      if (gateway && RTA_PAYLOAD(gateway) == (unsigned)bytes) {
        inet_ntop(family, RTA_DATA(gateway), text, sizeof text);
        emit(" %s", text);
      }
      if (multipath) {
        int left = RTA_PAYLOAD(multipath);
        for (struct rtnexthop *nh = RTA_DATA(multipath); RTNH_OK(nh, left); left -= RTNH_ALIGN(nh->rtnh_len),
                              nh = RTNH_NEXT(nh)) {
          int alen = nh->rtnh_len - sizeof *nh;
          for (struct rtattr *a = RTNH_DATA(nh); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
            if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == (unsigned)bytes) {
              inet_ntop(family, RTA_DATA(a), text, sizeof text);
              emit(" %s", text);
            }
          }
        }
      }
      emit("\n");
    }
  }
}

static int split(char *line, char **fields, int max) {
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save)) fields[n++] = t;
  return n;
}

static void handle_line(char *line) {
  char *fields[MAX_GATEWAYS + 4];
  int n = split(line, fields, MAX_GATEWAYS + 4);
  if (n == 0) return;
  if (n < 2 || strlen(fields[0]) != 1) die("malformed line (want `<op> <seq> ...`): %s", fields[0]);
  char *end;
  unsigned long seq = strtoul(fields[1], &end, 10);
  if (*end || seq > UINT32_MAX) die("malformed sequence number %s", fields[1]);
  switch (fields[0][0]) {
  case 'A':
    op_replace((uint32_t)seq, fields + 1, n - 1);
    break;
  case 'D':
    op_delete((uint32_t)seq, fields + 1, n - 1);
    break;
  case 'B':
    op_barrier((uint32_t)seq);
    break;
  case 'L':
    op_list((uint32_t)seq, fields + 1, n - 1);
    break;
  default:
    die("unknown op %s (want A, D, B or L)", fields[0]);
  }
}

/*
 * Standard input, read eagerly into a growing buffer: calico-node writes a table faster than the
 * kernel takes it, and a full pipe would leave it waiting on us (its event loop is busy receiving
 * the table meanwhile). So between two sendmsg() calls we take everything the pipe holds.
 */
static char *in;
static size_t in_start, in_len, in_cap;

/* Reads what stdin holds (waiting for some when `block`), a few reads at most so that writing
 * keeps up while calico-node streams; returns 1 at end of input. */
static int slurp_stdin(int block) {
  for (int reads = 0; reads < 4; reads++) {
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int ready = poll(&p, 1, block ? -1 : 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return 0;
    block = 0;
    if (in_start > 0 && in_start >= in_len / 2) {
      memmove(in, in + in_start, in_len - in_start);
      in_len -= in_start;
      in_start = 0;
    }
    if (in_cap - in_len < (1 << 16)) {
      in_cap = in_cap ? in_cap * 2 : 1 << 20;
      in = realloc(in, in_cap);
      if (!in) die("out of memory for %zu bytes of input", in_cap);
    }
    ssize_t n = read(0, in + in_len, in_cap - in_len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      die("reading stdin: %s", strerror(errno));
    }
    if (n == 0) return 1;
    in_len += (size_t)n;
  }
  return 0;
}

static int input_has_line(void) {
  return in_len > in_start && memchr(in + in_start, '\n', in_len - in_start) != NULL;
}

/* The next complete line (its newline replaced by NUL), or NULL. Valid until the next slurp. */
static char *next_line(void) {
  if (in_len <= in_start) return NULL;
  char *nl = memchr(in + in_start, '\n', in_len - in_start);
  if (!nl) return NULL;
  *nl = 0;
  char *line = in + in_start;
  in_start = (size_t)(nl - in) + 1;
  return line;
}

int main(int argc, char **argv) {
  int rcvbuf = RCVBUF_WANTED;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--proto") == 0 && i + 1 < argc) {
      long p = strtol(argv[++i], NULL, 10);
      if (p < 1 || p > 255) die("--proto wants 1..255");
      proto = (unsigned char)p;
    } else if (strcmp(argv[i], "--rcvbuf") == 0 && i + 1 < argc) {
      /* For tests: a tiny receive buffer makes the kernel drop answers (ENOBUFS). */
      long b = strtol(argv[++i], NULL, 10);
      if (b < 1 || b > (1L << 30)) die("--rcvbuf wants 1..2^30 bytes");
      rcvbuf = (int)b;
    } else {
      die("usage: calico-fib-writer [--proto N] [--rcvbuf BYTES]   (ops on stdin; see the comment atop "
          "native/calico-fib-writer.c)");
    }
  }
  nl_write = open_netlink(rcvbuf);
  size_batches();
  /* Big pipes: calico-node hands over a large batch in one write, without waiting for us to read
   * (its event loop is busy receiving the table meanwhile), and a listing flows out the same way.
   * Fails harmlessly when stdin or stdout is not a pipe. */
  fcntl(0, F_SETPIPE_SZ, 1 << 20);
  fcntl(1, F_SETPIPE_SZ, 1 << 20);

  for (;;) {
    /* Take whatever calico-node has written so far, so its pipe never fills while we write. */
    int eof = slurp_stdin(!input_has_line());
    char *line;
    while ((line = next_line()) != NULL) {
      unsigned long sends_before = sends;
      handle_line(line);
      if (sends != sends_before) slurp_stdin(0);
    }
    if (eof) break;
    /* Nothing complete waiting: send what we have rather than sit on it. */
    flush_sends();
    fflush(stdout);
  }
  flush_sends();
  fflush(stdout);
  return 0;
}
