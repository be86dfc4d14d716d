/// The fast walk over tensor data: an array of numbers and arrays of numbers,
/// with local indices and eight digits at a time, handing each number to a
/// visitor. It accepts exactly what the general grammar accepts in that
/// subset and gives up on anything else (strings, literals, objects, any
/// error), so the caller re-checks the array the general way, which names the
/// error precisely.
enum NumberArrayScan {
    /// The offset just past the array that opens at `start`, or nil to let the
    /// general path decide. `depthLeft` is how many more levels may open.
    static func end(of text: UnsafeRawBufferPointer, from start: Int, depthLeft: Int) -> Int? {
        walk(text, from: start, depthLeft: depthLeft) { _, _ in true }
    }

    /// `end(of:from:depthLeft:)`, calling `number` with each number, in order,
    /// and where its text lies; `number` returns false to give up.
    @inline(__always)
    static func walk(
        _ text: UnsafeRawBufferPointer,
        from start: Int,
        depthLeft: Int,
        _ number: (DecimalLiteral, _ literal: Range<Int>) -> Bool
    ) -> Int? {
        guard let base = text.baseAddress else { return nil }
        let end = text.count
        @inline(__always) func byte(_ index: Int) -> UInt8 {
            index < end ? base.load(fromByteOffset: index, as: UInt8.self) : 0
        }
        @inline(__always) func skipWhitespace(_ index: inout Int) {
            while true {
                let next = byte(index)
                guard next == 0x20 || next == 0x0A || next == 0x0D || next == 0x09 else { return }
                index &+= 1
            }
        }
        guard byte(start) == UInt8(ascii: "["), depthLeft >= 1 else { return nil }
        var index = start &+ 1
        var depth = 1
        // After '[' a value or ']' may come; after ',' only a value.
        var closeAllowed = true
        while true {
            skipWhitespace(&index)
            var next = byte(index)
            if next == UInt8(ascii: "[") {
                depth &+= 1
                guard depth <= depthLeft else { return nil }
                index &+= 1
                closeAllowed = true
                continue
            }
            if next == UInt8(ascii: "]") {
                guard closeAllowed else { return nil }
            } else {
                let numberStart = index
                guard let decimal = DecimalLiteral(text, &index), number(decimal, numberStart..<index) else { return nil }
                skipWhitespace(&index)
            }
            // After a value (or an empty array): ',' or ']' closing levels.
            while true {
                next = byte(index)
                if next == UInt8(ascii: ",") {
                    index &+= 1
                    closeAllowed = false
                    break
                }
                guard next == UInt8(ascii: "]") else { return nil }
                index &+= 1
                depth &-= 1
                if depth == 0 { return index }
                skipWhitespace(&index)
            }
        }
    }
}
