//! QNX devctl commands and Linux ioctl requests name the same thing with their direction bits
//! the other way round: QNX's `__DIOT` (data to the device) is bit 31 and `__DIOF` (data back)
//! bit 30; Linux's `_IOC_WRITE` (user to kernel) is bit 30 and `_IOC_READ` bit 31. The size
//! (bits 16..29) and the class and number (bits 0..15) are in the same places. The one mapping,
//! used by the path bridge (an ioctl reaching a resource manager) and by devctl()'s fallback
//! on a descriptor that is not a resource manager's.

const LOW: u32 = 1 << 30;
const HIGH: u32 = 1 << 31;

/// Bits 30 and 31 exchanged; every other bit kept.
const fn swap_direction(cmd: u32) -> u32 {
    (cmd & !(LOW | HIGH)) | ((cmd & LOW) << 1) | ((cmd & HIGH) >> 1)
}

/// The QNX devctl command a Linux ioctl request `cmd` is.
pub const fn linux_to_qnx(cmd: u32) -> u32 {
    swap_direction(cmd)
}

/// The Linux ioctl request QNX devctl command `dcmd` is.
pub const fn qnx_to_linux(dcmd: u32) -> u32 {
    swap_direction(dcmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// <devctl.h>'s macros, as QNX defines them.
    const fn diof(class: u32, cmd: u32, size: u32) -> u32 {
        (size << 16) + (class << 8) + cmd + 0x4000_0000
    }
    const fn diot(class: u32, cmd: u32, size: u32) -> u32 {
        (size << 16) + (class << 8) + cmd + 0x8000_0000
    }
    const fn diotf(class: u32, cmd: u32, size: u32) -> u32 {
        (size << 16) + (class << 8) + cmd + 0xC000_0000
    }

    /// Linux's `_IOC(dir, type, nr, size)` (asm-generic/ioctl.h).
    const fn ioc(dir: u32, ty: u32, nr: u32, size: u32) -> u32 {
        (dir << 30) | (size << 16) | (ty << 8) | nr
    }
    const IOC_WRITE: u32 = 1;
    const IOC_READ: u32 = 2;

    #[test]
    fn devctl_directions_are_linux_ones() {
        // __DIOF: data from the device, Linux's _IOR.
        assert_eq!(qnx_to_linux(diof(5, 7, 4)), ioc(IOC_READ, 5, 7, 4));
        // __DIOT: data to the device, Linux's _IOW.
        assert_eq!(qnx_to_linux(diot(5, 7, 12)), ioc(IOC_WRITE, 5, 7, 12));
        // __DIOTF: both ways, _IOWR.
        assert_eq!(qnx_to_linux(diotf(0xE7, 0x51, 24)), ioc(IOC_READ | IOC_WRITE, 0xE7, 0x51, 24));
        // __DION: no data, _IO.
        assert_eq!(qnx_to_linux((5 << 8) + 9), ioc(0, 5, 9, 0));
        // DCMD_ALL_GETFLAGS = __DIOF(_DCMD_ALL, 1, int); an old terminal request carries no
        // direction and no size, as __DION.
        assert_eq!(linux_to_qnx(libc::TIOCGWINSZ as u32), ((b'T' as u32) << 8) + 0x13);
        assert_eq!(linux_to_qnx(ioc(IOC_READ, 1, 1, 4)), diof(1, 1, 4));
    }

    proptest! {
        #[test]
        fn the_mappings_undo_each_other(cmd in any::<u32>()) {
            prop_assert_eq!(qnx_to_linux(linux_to_qnx(cmd)), cmd);
            prop_assert_eq!(linux_to_qnx(qnx_to_linux(cmd)), cmd);
        }

        #[test]
        fn only_the_direction_bits_move(cmd in any::<u32>()) {
            let q = linux_to_qnx(cmd);
            prop_assert_eq!(q & 0x3FFF_FFFF, cmd & 0x3FFF_FFFF);
            prop_assert_eq!(q >> 31, (cmd >> 30) & 1);
            prop_assert_eq!((q >> 30) & 1, cmd >> 31);
        }

        #[test]
        fn any_devctl_macro_maps_to_its_ioctl(class in 0u32..256, cmd in 0u32..256, size in 0u32..0x4000) {
            prop_assert_eq!(qnx_to_linux(diof(class, cmd, size)), ioc(IOC_READ, class, cmd, size));
            prop_assert_eq!(qnx_to_linux(diot(class, cmd, size)), ioc(IOC_WRITE, class, cmd, size));
            prop_assert_eq!(qnx_to_linux(diotf(class, cmd, size)), ioc(IOC_READ | IOC_WRITE, class, cmd, size));
        }
    }
}
