/// A JSON number as its decimal digits: up to 19 significant digits in
/// `mantissa`, scaled by 10^`exponent`. Converting one to a float is exact
/// and quick in the common cases; the others (`nil` from the conversions)
/// go through the standard library's correctly rounded parser.
struct DecimalLiteral {
    var negative = false
    var mantissa: UInt64 = 0
    var exponent = 0
    /// More than 19 significant digits: `mantissa` holds only the first 19.
    var truncated = false
    /// Written without a fraction or an exponent.
    var integral = true

    /// Reads the number at `position` of `text`, whose grammar the parser
    /// already checked, and moves past it. `NaN` and the infinities are not
    /// decimals: the caller handles them.
    init(_ text: UnsafeRawBufferPointer, _ position: inout Int) {
        // Locals, wrapping arithmetic and unchecked loads: 19 digits cannot
        // overflow a UInt64, and every load is checked against `end`.
        let base = text.baseAddress!
        let end = text.count
        var index = position
        var mantissa: UInt64 = 0
        var exponent = 0
        var digits = 0
        var truncated = false
        var chunks = true
        if Self.byte(base, index, end) == UInt8(ascii: "-") {
            negative = true
            index &+= 1
        }
        var value = Self.byte(base, index, end) &- UInt8(ascii: "0")
        while value < 10 {
            if digits < 19 {
                if mantissa != 0 || value != 0 {
                    mantissa = mantissa &* 10 &+ UInt64(value)
                    digits &+= 1
                }
            } else {
                truncated = true
                exponent &+= 1
            }
            index &+= 1
            // Eight digits at a time from the first significant one, until a
            // chunk holds something else: the run then ends within 8 bytes.
            if chunks && mantissa != 0 {
                while digits &+ 8 <= 19, let chunk = EightDigits.load(base, index, count: end), EightDigits.all(chunk) {
                    mantissa = mantissa &* 100_000_000 &+ EightDigits.value(chunk)
                    digits &+= 8
                    index &+= 8
                }
                chunks = false
            }
            value = Self.byte(base, index, end) &- UInt8(ascii: "0")
        }
        if Self.byte(base, index, end) == UInt8(ascii: ".") {
            integral = false
            chunks = true
            index &+= 1
            value = Self.byte(base, index, end) &- UInt8(ascii: "0")
            while value < 10 {
                if digits < 19 {
                    if mantissa != 0 || value != 0 {
                        mantissa = mantissa &* 10 &+ UInt64(value)
                        digits &+= 1
                    }
                    exponent &-= 1
                } else if value != 0 {
                    truncated = true
                }
                index &+= 1
                if chunks && mantissa != 0 {
                    while digits &+ 8 <= 19, let chunk = EightDigits.load(base, index, count: end), EightDigits.all(chunk) {
                        mantissa = mantissa &* 100_000_000 &+ EightDigits.value(chunk)
                        digits &+= 8
                        exponent &-= 8
                        index &+= 8
                    }
                    chunks = false
                }
                value = Self.byte(base, index, end) &- UInt8(ascii: "0")
            }
        }
        if Self.byte(base, index, end) | 0x20 == UInt8(ascii: "e") {
            integral = false
            index &+= 1
            var negativeExponent = false
            let sign = Self.byte(base, index, end)
            if sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                negativeExponent = sign == UInt8(ascii: "-")
                index &+= 1
            }
            var written = 0
            value = Self.byte(base, index, end) &- UInt8(ascii: "0")
            while value < 10 {
                // Beyond any float's range either way; the slow path decides.
                if written < 100_000 { written = written &* 10 &+ Int(value) }
                index &+= 1
                value = Self.byte(base, index, end) &- UInt8(ascii: "0")
            }
            exponent &+= negativeExponent ? -written : written
        }
        position = index
        self.mantissa = mantissa
        self.exponent = exponent
        self.truncated = truncated
    }

    @inline(__always)
    private static func byte(_ base: UnsafeRawPointer, _ index: Int, _ end: Int) -> UInt8 {
        index < end ? base.load(fromByteOffset: index, as: UInt8.self) : 0
    }

    private static let powersOfTen: [Double] = (0...22).map { power in
        var value = 1.0
        for _ in 0..<power { value *= 10 }
        return value
    }

    /// The correctly rounded Float, when a double-precision computation
    /// decides it: the mantissa (within 2^64, rounded once to a Double) and
    /// an exact power of ten (10^22 at most) make one more rounding, so the
    /// result is within 2 Double ulps of the decimal's value, and it rounds
    /// to the same Float unless it lies that close to a midpoint between two.
    var float: Float? {
        guard !truncated else { return nil }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        guard exponent >= -22 && exponent <= 22 else { return nil }
        var value = Double(mantissa)
        value = exponent < 0 ? value / Self.powersOfTen[-exponent] : value * Self.powersOfTen[exponent]
        guard value >= Double(Float.leastNormalMagnitude) && value <= Double(Float.greatestFiniteMagnitude) else { return nil }
        // A Float midpoint is a Double whose 29 fraction bits below the
        // Float's 23 are 1 then zeros; within 4 Double ulps of one, the
        // rounding is in doubt.
        let low = value.bitPattern & 0x1FFF_FFFF
        guard (low > 0x1000_0000 ? low - 0x1000_0000 : 0x1000_0000 - low) > 4 else { return nil }
        let rounded = Float(value)
        return negative ? -rounded : rounded
    }

    /// The correctly rounded Double when both factors are exact (Clinger's
    /// fast path): a mantissa within 2^53 and a power of ten within 10^22.
    var double: Double? {
        guard !truncated, mantissa <= 1 << 53, exponent >= -22 && exponent <= 22 else { return nil }
        let value = exponent < 0 ? Double(mantissa) / Self.powersOfTen[-exponent] : Double(mantissa) * Self.powersOfTen[exponent]
        return negative ? -value : value
    }

    /// The integer, when it is one and fits `Element` (the slow path names why not).
    func integer<Element: FixedWidthInteger>(_ type: Element.Type) -> Element? {
        guard integral, !truncated, exponent == 0 else { return nil }
        if negative {
            guard Element.isSigned, mantissa <= UInt64(Int64.max) else { return nil }
            return Element(exactly: -Int64(mantissa))
        }
        return Element(exactly: mantissa)
    }
}
