/// Eight ASCII digits at a time, read as one little-endian UInt64 (SWAR, as
/// in Lemire's fast_float): tensor data in JSON is mostly long runs of digits.
enum EightDigits {
    /// Whether all eight bytes are '0'...'9'.
    @inline(__always)
    static func all(_ chunk: UInt64) -> Bool {
        (chunk & 0xF0F0_F0F0_F0F0_F0F0) | (((chunk &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4) == 0x3333_3333_3333_3333
    }

    /// How many of the eight bytes, from the first, are digits (0...8).
    @inline(__always)
    static func leadingDigits(_ chunk: UInt64) -> Int {
        // Per byte: a high nibble other than 3, or a low one above 9, marks
        // a non-digit. Adding 6 may carry into the next byte, but only past
        // the first marked one, which is all that is counted.
        let high = (chunk & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030
        let above9 = ((chunk &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030
        return (high | above9).trailingZeroBitCount >> 3
    }

    /// The value of the first `count` digits (0...8) of the chunk.
    @inline(__always)
    static func value(_ chunk: UInt64, first count: Int) -> UInt64 {
        // Move them to the end and fill the front with '0's, without a
        // branch on the count: each shift is done in two halves, so that 64
        // bits shift everything out instead of nothing.
        let shift = UInt64(8 &- count) &<< 2
        let back = 32 &- shift
        let moved = (chunk &<< shift) &<< shift
        let zeros = ((0x3030_3030_3030_3030 as UInt64) &>> back) &>> back
        return value(moved | zeros)
    }

    /// 10^count for a count of digits (0...8).
    @inline(__always)
    static func scale(_ count: Int) -> UInt64 {
        powersOfTen[count]
    }

    private static let powersOfTen: [UInt64] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

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
