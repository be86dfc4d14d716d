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

    /// Reads the number at `position` of `text`, checking RFC 8259's
    /// grammar, and moves past it; nil (and `position` unmoved) when the
    /// text there is not a number. `NaN` and the infinities are not decimals:
    /// the caller handles them.
    @inline(__always)
    init?(_ text: UnsafeRawBufferPointer, _ position: inout Int) {
        // Tensor data is mostly numbers of at most 19 digits, leading zeros
        // included: their mantissa cannot overflow, so the digits are read
        // eight at a time without counting significant ones. Longer numbers
        // take the careful path.
        let base = text.baseAddress!
        let end = text.count
        var index = position
        // Half the numbers of a tensor are negative: no branch on the sign.
        let negative = Self.byte(base, index, end) == UInt8(ascii: "-")
        index &+= negative ? 1 : 0
        let first = Self.byte(base, index, end)
        guard first &- UInt8(ascii: "0") < 10 else { return nil }
        var mantissa: UInt64 = 0
        let integerStart = index
        Self.digits(base, &index, end, into: &mantissa)
        var digits = index &- integerStart
        // No leading zeros.
        guard first != UInt8(ascii: "0") || digits == 1 else { return nil }
        var exponent = 0
        var integral = true
        if Self.byte(base, index, end) == UInt8(ascii: ".") {
            integral = false
            index &+= 1
            guard Self.byte(base, index, end) &- UInt8(ascii: "0") < 10 else { return nil }
            let fractionStart = index
            Self.digits(base, &index, end, into: &mantissa)
            exponent = fractionStart &- index
            digits &+= index &- fractionStart
        }
        if Self.byte(base, index, end) | 0x20 == UInt8(ascii: "e") {
            integral = false
            index &+= 1
            guard let written = Self.exponent(base, &index, end) else { return nil }
            exponent &+= written
        }
        guard digits <= 19 else {
            self.init(careful: text, &position)
            return
        }
        position = index
        self.init(negative: negative, mantissa: mantissa, exponent: exponent, integral: integral)
    }

    private init(negative: Bool, mantissa: UInt64, exponent: Int, integral: Bool) {
        self.negative = negative
        self.mantissa = mantissa
        self.exponent = exponent
        self.integral = integral
    }

    /// Appends a run of digits to `mantissa` (wrapping: the caller counts
    /// them), up to eight in one step.
    @inline(__always)
    private static func digits(_ base: UnsafeRawPointer, _ index: inout Int, _ end: Int, into mantissa: inout UInt64) {
        while let chunk = EightDigits.load(base, index, count: end) {
            let count = EightDigits.leadingDigits(chunk)
            if count == 8 {
                mantissa = mantissa &* 100_000_000 &+ EightDigits.value(chunk)
                index &+= 8
                continue
            }
            mantissa = mantissa &* EightDigits.scale(count) &+ EightDigits.value(chunk, first: count)
            index &+= count
            return
        }
        // The text's last bytes.
        var value = byte(base, index, end) &- UInt8(ascii: "0")
        while value < 10 {
            mantissa = mantissa &* 10 &+ UInt64(value)
            index &+= 1
            value = byte(base, index, end) &- UInt8(ascii: "0")
        }
    }

    /// The exponent's sign and digits, after the `e`; nil without a digit.
    @inline(__always)
    private static func exponent(_ base: UnsafeRawPointer, _ index: inout Int, _ end: Int) -> Int? {
        var negative = false
        let sign = byte(base, index, end)
        if sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            index &+= 1
        }
        var value = byte(base, index, end) &- UInt8(ascii: "0")
        guard value < 10 else { return nil }
        var written = 0
        while value < 10 {
            // Beyond any float's range either way; the slow path decides.
            if written < 100_000 { written = written &* 10 &+ Int(value) }
            index &+= 1
            value = byte(base, index, end) &- UInt8(ascii: "0")
        }
        return negative ? -written : written
    }

    /// Counts significant digits, keeps the first 19 and notes the rest, in
    /// a number whose grammar was checked.
    @inline(never)
    private init(careful text: UnsafeRawBufferPointer, _ position: inout Int) {
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
            exponent &+= Self.exponent(base, &index, end) ?? 0
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

    /// Every power of ten a Double holds exactly. Written out so that the
    /// array is built at compile time, not behind a lazy initializer that
    /// each number would check.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

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
