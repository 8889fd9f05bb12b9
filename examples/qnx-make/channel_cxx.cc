// channel_cxx.cc - <sys/neutrino.h> from C++, built with q++ (QNX's C++ driver):
// a channel, a connection to it, and a pulse sent and received through them.
#include <sys/neutrino.h>
#include <cstdio>
#include <memory>

int main()
{
    const int chid = ChannelCreate(0);
    if (chid == -1) {
        std::perror("ChannelCreate");
        return 1;
    }
    const int coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    if (coid == -1) {
        std::perror("ConnectAttach");
        return 1;
    }
    if (MsgSendPulse(coid, -1, _PULSE_CODE_MINAVAIL, 42) == -1) {
        std::perror("MsgSendPulse");
        return 1;
    }
    auto pulse = std::make_unique<struct _pulse>();
    if (MsgReceive(chid, pulse.get(), sizeof *pulse, nullptr) != 0) {
        std::perror("MsgReceive");
        return 1;
    }
    std::printf("channel_cxx: pulse code %d value %d\n", pulse->code, pulse->value.sival_int);
    ConnectDetach(coid);
    ChannelDestroy(chid);
    return pulse->code == _PULSE_CODE_MINAVAIL && pulse->value.sival_int == 42 ? 0 : 1;
}
