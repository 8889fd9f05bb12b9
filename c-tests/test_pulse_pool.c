/*
 * test_pulse_pool.c - ChannelCreatePulsePool (reference §2.6, §5.3): pulses to the channel
 * take entries of a private pool of config->num_pulses; a sender that finds it exhausted
 * gets EAGAIN and the pulse is not queued; by default the process owning the channel is
 * killed, with _NTO_CHO_CUSTOM_EVENT the event is delivered instead, once, and re-armed when
 * the free entries climb back over rearm_threshold. Kernel pulses do not use the pool.
 */
#include "harness.h"

static volatile sig_atomic_t exhausted_signals;

static void on_exhausted(int sig)
{
    (void)sig;
    exhausted_signals++;
}

static struct nto_channel_config pool_config(unsigned num, unsigned rearm, int custom_signal)
{
    struct nto_channel_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.num_pulses = num;
    cfg.rearm_threshold = rearm;
    if (custom_signal) {
        cfg.options = _NTO_CHO_CUSTOM_EVENT;
        SIGEV_SIGNAL_INIT(&cfg.event, custom_signal);
        signal(custom_signal, on_exhausted);
    }
    return cfg;
}

/* Receives one pulse within a second, or fails the check. */
static int take_pulse(int chid, struct _pulse *p)
{
    uint64_t ns = 1000000000;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
    return (int)MsgReceivePulse(chid, p, sizeof *p, NULL);
}

/* Whether the channel has nothing queued. */
static int queue_empty(int chid)
{
    struct _pulse p;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    return MsgReceivePulse(chid, &p, sizeof p, NULL) == -1 && errno == ETIMEDOUT;
}

TEST(pool_config_is_checked)
{
    struct nto_channel_config cfg = pool_config(4, 2, 0);
    CHECK_ERR(ChannelCreatePulsePool(0, NULL), EINVAL);
    cfg.num_pulses = 0;
    CHECK_ERR(ChannelCreatePulsePool(0, &cfg), EINVAL);
    cfg.num_pulses = 4;
    cfg.rearm_threshold = 5;
    CHECK_ERR(ChannelCreatePulsePool(0, &cfg), EINVAL);
    cfg.rearm_threshold = 2;
    cfg.options = 0x80;
    CHECK_EQ(ChannelCreatePulsePool_r(0, &cfg), -EINVAL);
    cfg.options = _NTO_CHO_CUSTOM_EVENT;
    SIGEV_SIGNAL_INIT(&cfg.event, 0); /* no such signal */
    CHECK_ERR(ChannelCreatePulsePool(0, &cfg), EINVAL);
    cfg = pool_config(4, 4, SIGUSR1);
    int chid = (int)CHECK_OK(ChannelCreatePulsePool(0, &cfg));
    CHECK(chid > 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

TEST(local_pulses_exhaust_the_pool_and_the_event_rearms)
{
    struct nto_channel_config cfg = pool_config(4, 2, SIGUSR1);
    int chid = (int)REQUIRE_OK(ChannelCreatePulsePool(0, &cfg));
    int coid = (int)REQUIRE_OK(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0));
    for (int i = 0; i < 4; i++)
        CHECK_EQ(MsgSendPulse(coid, 10, 1, i), 0);
    CHECK_ERR(MsgSendPulse(coid, 10, 1, 4), EAGAIN);
    CHECK_EQ(exhausted_signals, 1);
    CHECK_EQ(MsgSendPulse_r(coid, 10, 1, 5), -EAGAIN);
    CHECK_EQ(exhausted_signals, 1); /* not re-armed yet */

    struct _pulse p;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(take_pulse(chid, &p), 0);
        CHECK_EQ(p.value.sival_int, i);
    }
    /* Two free entries: not over the threshold of 2, the event stays disarmed. */
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 6), 0);
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 7), 0);
    CHECK_ERR(MsgSendPulse(coid, 10, 1, 8), EAGAIN);
    CHECK_EQ(exhausted_signals, 1);
    /* Three free entries: re-armed. */
    for (int i = 0; i < 3; i++)
        CHECK_EQ(take_pulse(chid, &p), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(MsgSendPulse(coid, 10, 1, 9), 0);
    CHECK_ERR(MsgSendPulse(coid, 10, 1, 10), EAGAIN);
    CHECK_EQ(exhausted_signals, 2);
    /* What was refused was never queued: the pool's four, no more. */
    int values[4];
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(take_pulse(chid, &p), 0);
        values[i] = p.value.sival_int;
    }
    CHECK_EQ(values[0], 7);
    CHECK_EQ(values[3], 9);
    CHECK(queue_empty(chid));
    CHECK_EQ(ConnectDetach(coid), 0);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* Child: connects to (pid, chid) read from the pipe and sends `n` pulses, writing back
 * each result (0 or the errno). */
static int pulse_sender(int rd, int wr, void *arg)
{
    int n = (int)(intptr_t)arg;
    long long pid = h_get(rd, 5000);
    long long chid = h_get(rd, 5000);
    int coid = ConnectAttach(0, (pid_t)pid, (int)chid, _NTO_SIDE_CHANNEL, 0);
    if (coid < 0)
        return 3;
    for (int i = 0; i < n; i++)
        h_put(wr, MsgSendPulse(coid, 10, 2, i) == 0 ? 0 : errno);
    h_get(rd, 5000);
    return 0;
}

TEST(remote_senders_take_pool_entries)
{
    struct nto_channel_config cfg = pool_config(8, 4, SIGUSR2);
    int chid = (int)REQUIRE_OK(ChannelCreatePulsePool(0, &cfg));
    struct h_proc c = h_spawn(pulse_sender, (void *)(intptr_t)10);
    h_put(c.wr, getpid());
    h_put(c.wr, chid);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(h_get(c.rd, 5000), i < 8 ? 0 : EAGAIN);
    for (int i = 0; i < 50 && exhausted_signals == 0; i++)
        h_sleep_ms(10);
    CHECK_EQ(exhausted_signals, 1);
    struct _pulse p;
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(take_pulse(chid, &p), 0);
        CHECK_EQ(p.code, 2);
        CHECK_EQ(p.value.sival_int, i);
    }
    CHECK(queue_empty(chid));
    h_put(c.wr, 1);
    CHECK_CHILD_OK(c.pid, 5000);
    h_close_proc(&c);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

/* Child: owns a pool channel of two pulses with the default policy, and waits. */
static int pool_owner(int rd, int wr, void *arg)
{
    (void)arg;
    struct nto_channel_config cfg = pool_config(2, 0, 0);
    int chid = ChannelCreatePulsePool(0, &cfg);
    if (chid < 0)
        return 2;
    h_put(wr, chid);
    h_get(rd, 10000);
    return 0;
}

TEST(exhaustion_kills_the_owner_by_default)
{
    struct h_proc owner = h_spawn(pool_owner, NULL);
    long long chid = h_get(owner.rd, 5000);
    int coid = (int)REQUIRE_OK(ConnectAttach(0, owner.pid, (int)chid, _NTO_SIDE_CHANNEL, 0));
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 1), 0);
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 2), 0);
    CHECK_EQ(MsgSendPulse(coid, 10, 1, 3), -1);
    CHECK_EQ(h_wait(owner.pid, 5000), 128 + SIGKILL);
    h_close_proc(&owner);
    ConnectDetach(coid);
}

TEST(kernel_pulses_do_not_use_the_pool)
{
    struct nto_channel_config cfg = pool_config(1, 0, SIGUSR1);
    int chid = (int)REQUIRE_OK(ChannelCreatePulsePool(_NTO_CHF_DISCONNECT, &cfg));
    struct h_proc c = h_spawn(pulse_sender, (void *)(intptr_t)2);
    h_put(c.wr, getpid());
    h_put(c.wr, chid);
    CHECK_EQ(h_get(c.rd, 5000), 0);
    CHECK_EQ(h_get(c.rd, 5000), EAGAIN);
    h_put(c.wr, 1);
    CHECK_CHILD_OK(c.pid, 5000);
    h_close_proc(&c);
    /* The pool is full, yet the client's death is reported. */
    struct _pulse p;
    CHECK_EQ(take_pulse(chid, &p), 0);
    CHECK_EQ(p.code, 2);
    CHECK_EQ(take_pulse(chid, &p), 0);
    CHECK_EQ(p.code, _PULSE_CODE_DISCONNECT);
    CHECK_EQ(ChannelDestroy(chid), 0);
}

HARNESS_MAIN
