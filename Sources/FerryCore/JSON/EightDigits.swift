/// Eight ASCII digits at a time, read as one little-endian UInt64 (SWAR, as
/// in Lemire's fast_float): tensor data in JSON is mostly long runs of digits.
enum EightDigits {
    /// Whether all eight bytes are '0'...'9'.
    @inline(__always)
    static func all(_ chunk: UInt64) -> Bool {
        (chunk & 0xF0F0_F0F0_F0F0_F0F0) | (((chunk &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4) == 0x3333_3333_3333_3333
    }

    /// Their value, the first byte being the most significant digit.
    @inline(__always)
    static func value(_ chunk: UInt64) -> UInt64 {
        var digits = chunk &- 0x3030_3030_3030_3030
        digits = (digits &* 10) &+ (digits >> 8)
        let pairs = (digits & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32))
        let quads = ((digits >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32))
        return (pairs &+ quads) >> 32
    }

    /// The eight bytes at `offset`, when they are all within `count`.
    @inline(__always)
    static func load(_ base: UnsafeRawPointer, _ offset: Int, count: Int) -> UInt64? {
        guard offset &+ 8 <= count else { return nil }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
