/*
 * test_spawn.c - QNX's spawn*() family of <process.h>, which QNX's <unistd.h> includes:
 * P_WAIT returns the child's wait status, P_NOWAIT its pid, P_NOWAITO its pid and leaves no
 * zombie, P_OVERLAY replaces the caller; a NULL environment is the caller's; the p forms
 * search PATH; a bad mode is EINVAL and a missing program ENOENT.  And the course idiom:
 * a server spawns its client, which finds the server's channel through getppid().
 */
#include "harness.h"
#include <unistd.h> /* brings <process.h>, as on QNX */

#define SH "/bin/sh"

TEST(spawn_modes_values) { CHECK(P_WAIT == 0 && P_NOWAIT == 1 && P_OVERLAY == 2 && P_NOWAITO == 3); }

TEST(spawn_wait_returns_wait_status)
{
    int st = spawnl(P_WAIT, SH, "sh", "-c", "exit 3", NULL);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 3);
    st = spawnl(P_WAIT, SH, "sh", "-c", "kill -TERM $$", NULL);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGTERM);
}

TEST(spawn_every_form)
{
    char *argv[] = {"sh", "-c", "test \"$NEUTRINO_SPAWN\" = yes && exit 4 || exit 5", NULL};
    char *env[] = {"NEUTRINO_SPAWN=yes", NULL};
    REQUIRE_EQ(setenv("NEUTRINO_SPAWN", "no", 1), 0);
    CHECK_EQ(WEXITSTATUS(spawnv(P_WAIT, SH, argv)), 5);
    CHECK_EQ(WEXITSTATUS(spawnve(P_WAIT, SH, argv, env)), 4);
    CHECK_EQ(WEXITSTATUS(spawnve(P_WAIT, SH, argv, NULL)), 5); /* NULL: our environment */
    CHECK_EQ(WEXITSTATUS(spawnvp(P_WAIT, "sh", argv)), 5);
    CHECK_EQ(WEXITSTATUS(spawnvpe(P_WAIT, "sh", argv, env)), 4);
    CHECK_EQ(WEXITSTATUS(spawnl(P_WAIT, SH, argv[0], argv[1], argv[2], NULL)), 5);
    CHECK_EQ(WEXITSTATUS(spawnle(P_WAIT, SH, argv[0], argv[1], argv[2], NULL, env)), 4);
    CHECK_EQ(WEXITSTATUS(spawnlp(P_WAIT, "sh", argv[0], argv[1], argv[2], NULL)), 5);
    CHECK_EQ(WEXITSTATUS(spawnlpe(P_WAIT, "sh", argv[0], argv[1], argv[2], NULL, env)), 4);
}

TEST(spawn_nowait_returns_pid_of_our_child)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "test \"$PPID\" = %d", (int)getpid());
    pid_t pid = spawnl(P_NOWAIT, SH, "sh", "-c", cmd, NULL);
    REQUIRE(pid > 0);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Gone from the process table once it ends: nobody has to wait for it. */
TEST(spawn_nowaito_leaves_no_zombie)
{
    pid_t pid = spawnl(P_NOWAITO, SH, "sh", "-c", "exit 0", NULL);
    REQUIRE(pid > 0);
    long long deadline = h_now_ms() + 5000;
    while (kill(pid, 0) == 0 && h_now_ms() < deadline)
        h_sleep_ms(5);
    CHECK_ERR(kill(pid, 0), ESRCH);
}

TEST(spawn_overlay_replaces_the_caller)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        spawnl(P_OVERLAY, SH, "sh", "-c", "exit 7", NULL);
        _exit(100);
    }
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 7);
}

TEST(spawn_errors)
{
    CHECK_ERR(spawnl(9, SH, "sh", "-c", "exit 0", NULL), EINVAL);
    CHECK_ERR(spawnl(P_WAIT, "/nonexistent/program", "x", NULL), ENOENT);
    CHECK_ERR(spawnl(P_NOWAIT, "/nonexistent/program", "x", NULL), ENOENT);
    CHECK_ERR(spawnlp(P_WAIT, "neutrino-no-such-program", "x", NULL), ENOENT);
    CHECK_ERR(spawnl(P_OVERLAY, "/nonexistent/program", "x", NULL), ENOENT);
    CHECK_ERR(spawnv(P_WAIT, SH, NULL), EFAULT);
}

/* The client a server spawns: attaches to its parent's channel, named on its command line. */
HELPER(spawned_client)
{
    (void)rd;
    (void)wr;
    int coid = ConnectAttach(0, getppid(), atoi(arg), _NTO_SIDE_CHANNEL, 0);
    if (coid == -1)
        return 1;
    int v = 41, r = 0;
    return MsgSend(coid, &v, sizeof v, &r, sizeof r) == 0 && r == 42 ? 0 : 2;
}

TEST(spawn_server_spawns_its_client)
{
    int chid = (int)REQUIRE_OK(ChannelCreate(0));
    char chid_s[16];
    snprintf(chid_s, sizeof chid_s, "%d", chid);
    /* The helper reads fds from its arguments: hand it fresh descriptors it will not use. */
    pid_t pid = spawnl(P_NOWAIT, "/proc/self/exe", h_prog_name, "--helper", "spawned_client", "0",
                       "1", chid_s, NULL);
    REQUIRE(pid > 0);
    int v = 0;
    struct _msg_info info;
    uint64_t ns = 5000000000ULL;
    REQUIRE_EQ(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), 0);
    rcvid_t rcvid = MsgReceive(chid, &v, sizeof v, &info);
    REQUIRE(rcvid > 0);
    CHECK_EQ(info.pid, pid);
    v++;
    CHECK_EQ(MsgReply(rcvid, EOK, &v, sizeof v), 0);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

HARNESS_MAIN
