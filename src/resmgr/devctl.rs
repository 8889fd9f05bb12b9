//! The one place a Linux ioctl command and a QNX devctl command meet: the direction bits
//! are the other way round. Linux `_IOC_WRITE` (user → kernel) is bit 30 and `_IOC_READ`
//! bit 31; QNX `__DIOT` (to the device) is bit 31 and `__DIOF` bit 30. The size (bits
//! 16..29) and class/number (bits 0..15) are the same, so the mapping swaps the two bits.

const BIT30: u32 = 1 << 30;
const BIT31: u32 = 1 << 31;

fn swap(cmd: u32) -> u32 {
    let rest = cmd & !(BIT30 | BIT31);
    rest | ((cmd & BIT30) << 1) | ((cmd & BIT31) >> 1)
}

/// The QNX `dcmd` of a Linux ioctl command.
pub fn linux_to_qnx(cmd: u32) -> u32 {
    swap(cmd)
}

/// The Linux ioctl command of a QNX `dcmd`.
pub fn qnx_to_linux(cmd: u32) -> u32 {
    swap(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux's `_IOC(dir, type, nr, size)`.
    fn ioc(dir: u32, ty: u32, nr: u32, size: u32) -> u32 {
        (dir << 30) | (size << 16) | (ty << 8) | nr
    }

    /// QNX's `__DIOF`/`__DIOT`/`__DIOTF`: `(dir) | ((size & 0x3fff) << 16) | (class << 8) | cmd`.
    const DIOF: u32 = 0x4000_0000;
    const DIOT: u32 = 0x8000_0000;

    #[test]
    fn directions_swap_and_the_rest_stays() {
        // _IOR: the device writes to the caller, QNX's __DIOF.
        assert_eq!(linux_to_qnx(ioc(2, 0xE7, 0x51, 24)), DIOF | (24 << 16) | (0xE7 << 8) | 0x51);
        // _IOW: to the device, __DIOT.
        assert_eq!(linux_to_qnx(ioc(1, 3, 7, 4)), DIOT | (4 << 16) | (3 << 8) | 7);
        // _IOWR: both, __DIOTF; _IO: neither, __DION.
        assert_eq!(linux_to_qnx(ioc(3, 1, 2, 100)), DIOT | DIOF | (100 << 16) | (1 << 8) | 2);
        assert_eq!(linux_to_qnx(ioc(0, 1, 2, 0)), (1 << 8) | 2);
    }

    #[test]
    fn the_mapping_is_its_own_inverse() {
        for cmd in [0u32, 1, BIT30, BIT31, BIT30 | BIT31, 0xdead_beef, u32::MAX, 0x4018_e751] {
            assert_eq!(qnx_to_linux(linux_to_qnx(cmd)), cmd);
            assert_eq!(linux_to_qnx(qnx_to_linux(cmd)), cmd);
            assert_eq!(linux_to_qnx(cmd) & !(BIT30 | BIT31), cmd & !(BIT30 | BIT31));
        }
    }
}
