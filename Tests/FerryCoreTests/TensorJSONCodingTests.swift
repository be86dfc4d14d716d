import FerryCore
import Foundation
import Testing

@Suite("v2 JSON tensor data")
struct TensorJSONCodingTests {
    private func decode(_ json: String, _ type: DataType, _ shape: TensorShape) throws -> Tensor {
        let data = try TensorJSONCoding.decode(try JSONParser.parse(json), datatype: type, shape: shape, tensorName: "x")
        return Tensor(name: "x", datatype: type, shape: shape, data: data)
    }

    private func encode(_ tensor: Tensor) throws -> String {
        var writer = JSONWriter()
        try TensorJSONCoding.write(tensor, to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test("integer extremes of every integer type round-trip exactly")
    func integerExtremes() throws {
        #expect(try decode("[0, 255]", .uint8, [2]).values(as: UInt8.self) == [0, 255])
        #expect(try decode("[-128, 127]", .int8, [2]).values(as: Int8.self) == [-128, 127])
        #expect(try decode("[0, 65535]", .uint16, [2]).values(as: UInt16.self) == [0, .max])
        #expect(try decode("[-32768, 32767]", .int16, [2]).values(as: Int16.self) == [.min, .max])
        #expect(try decode("[0, 4294967295]", .uint32, [2]).values(as: UInt32.self) == [0, .max])
        #expect(try decode("[-2147483648, 2147483647]", .int32, [2]).values(as: Int32.self) == [.min, .max])
        #expect(try decode("[0, 18446744073709551615]", .uint64, [2]).values(as: UInt64.self) == [0, .max])
        let int64 = try decode("[-9223372036854775808, 9223372036854775807]", .int64, [2])
        #expect(try int64.values(as: Int64.self) == [.min, .max])
        #expect(try encode(int64) == "[-9223372036854775808,9223372036854775807]")
    }

    @Test("float32 values are read straight from their text, without a double rounding")
    func float32FromText() throws {
        // 0.1f widened to double and printed by Python.
        let tensor = try decode("[0.10000000149011612, -0.0, 3.4028234663852886e+38, 1e-45]", .fp32, [4])
        let values = try tensor.values(as: Float.self)
        #expect(values[0] == 0.1 as Float)
        #expect(values[1].sign == .minus && values[1] == 0)
        #expect(values[2] == .greatestFiniteMagnitude)
        #expect(values[3] == .leastNonzeroMagnitude)
        #expect(try encode(tensor) == "[0.1,-0.0,3.4028235e+38,1e-45]")
    }

    @Test("float32 text just above a midpoint rounds up: one rounding, not two")
    func float32SingleRounding() throws {
        // 1 + 2^-24 is the midpoint between 1 and its successor; the text is a hair
        // above it, so the correct float32 is 1 + 2^-23 (0x3F800001). Parsing through
        // Double would land exactly on the midpoint and round to even (0x3F800000).
        let tensor = try decode("[1.0000000596046447753906251]", .fp32, [1])
        #expect(try tensor.values(as: Float.self).map { $0.bitPattern } == [0x3F80_0001])
    }

    @Test("FP16 and BF16 round once from the exact double, ties to even")
    func halfPrecisionRounding() throws {
        // 1 + 2^-11 is an FP16 midpoint: ties to even gives 1.0; a value just above it
        // (exact in Double) must round up to 1 + 2^-10.
        let half = try decode("[1.00048828125, 1.0004882812500002]", .fp16, [2])
        #expect(try half.values(as: Float16.self).map { $0.bitPattern } == [0x3C00, 0x3C01])
        // The same for bfloat16 around 1 + 2^-8; a double just above the midpoint that
        // a plain Double -> Float conversion would round onto it.
        let bf16 = try decode("[1.00390625, 1.0039062500000002]", .bf16, [2])
        #expect(try bf16.values(as: BFloat16.self).map { $0.bitPattern } == [0x3F80, 0x3F81])
    }

    @Test("round-to-odd keeps exact values and marks inexact ones")
    func roundToOdd() {
        #expect(Float(roundingToOdd: 1.5) == 1.5)
        #expect(Float(roundingToOdd: 1 + 0x1p-30).bitPattern == 0x3F80_0001)
        #expect(Float(roundingToOdd: -(1 + 0x1p-30)).bitPattern == 0xBF80_0001)
        #expect(Float(roundingToOdd: 0x1p-160).bitPattern == 0x0000_0001)
        #expect(Float(roundingToOdd: .infinity) == .infinity)
    }

    @Test("NaN and infinities read from Python-style literals and write back the same way")
    func nonFinite() throws {
        let tensor = try decode("[NaN, Infinity, -Infinity]", .fp32, [3])
        let values = try tensor.values(as: Float.self)
        #expect(values[0].isNaN && values[1] == .infinity && values[2] == -.infinity)
        #expect(try encode(tensor) == "[NaN,Infinity,-Infinity]")
        #expect(try JSONParser.parse(try encode(tensor)) == .array([.number("NaN"), .number("Infinity"), .number("-Infinity")]))
    }

    @Test("a shape claiming 2^40 elements with little data is an error, not an allocation")
    func hugeShape() throws {
        let error = try #require(throws: FerryError.self) { try decode("[1, 2]", .fp32, [1 << 40]) }
        #expect(error.message == "input 'x': shape [1099511627776] has 1099511627776 elements, but 'data' holds 2")
    }

    @Test("FP16 and BF16 hold the nearest value and print text that reads back to it")
    func halfPrecision() throws {
        let half = try decode("[0.1, 65504, -2.0]", .fp16, [3])
        #expect(try half.values(as: Float16.self) == [0.1, 65504, -2])
        let reread = try decode(try encode(half), .fp16, [3])
        #expect(reread.data == half.data)

        let bf16 = try decode("[1.0, 3.140625, -0.0]", .bf16, [3])
        #expect(try bf16.values(as: BFloat16.self).map { $0.bitPattern } == [0x3F80, 0x4049, 0x8000])
        #expect(try decode(try encode(bf16), .bf16, [3]).data == bf16.data)
    }

    @Test("bfloat16 rounds to nearest, ties to even")
    func bfloat16Rounding() {
        // 1 + 2^-8 is halfway between two bfloat16 values: ties to the even one (1.0).
        #expect(BFloat16(Float(1) + Float(1) / 256).bitPattern == 0x3F80)
        // 1 + 3·2^-8 is halfway too: ties to even rounds up.
        #expect(BFloat16(Float(1) + Float(3) / 256).bitPattern == 0x3F82)
        #expect(BFloat16(Float.nan).floatValue.isNaN)
        #expect(BFloat16(Float.infinity).floatValue == .infinity)
    }

    @Test("nested data is read in row-major order")
    func nestedData() throws {
        let tensor = try decode("[[1, 2, 3], [4, 5, 6]]", .int32, [2, 3])
        #expect(try tensor.values(as: Int32.self) == [1, 2, 3, 4, 5, 6])
    }

    @Test("BOOL and BYTES elements")
    func boolAndBytes() throws {
        #expect(try decode("[true, false]", .bool, [2]).values(as: Bool.self) == [true, false])
        let bytes = try decode(#"["", "héllo", "a\"b"]"#, .bytes, [3])
        #expect(try bytes.byteElements().map { String(decoding: $0, as: UTF8.self) } == ["", "héllo", "a\"b"])
        #expect(try encode(bytes) == #"["","héllo","a\"b"]"#)
    }

    @Test(
        "bad elements name the element and what the datatype needs",
        arguments: [
            ("[1, 256]", DataType.uint8, "element 1 of 'data' is 256, but UINT8 needs a value in 0...255"),
            ("[1, -1]", .uint32, "element 1 of 'data' is -1, but UINT32 needs a value in 0...4294967295"),
            (
                "[1, 18446744073709551616]", .uint64,
                "element 1 of 'data' is 18446744073709551616, but UINT64 needs a value in 0...18446744073709551615"
            ),
            ("[1.5, 2]", .int32, "element 0 of 'data' is 1.5, but INT32 needs an integer"),
            ("[\"1\", 2]", .fp32, "element 0 of 'data' is a string, but FP32 needs a number"),
            ("[1, 0]", .bool, "element 0 of 'data' is 1, but BOOL needs a boolean"),
            ("[1, 2]", .bytes, "element 0 of 'data' is 1, but BYTES needs a string"),
        ]
    )
    func badElements(json: String, type: DataType, message: String) throws {
        let error = try #require(throws: FerryError.self) { try decode(json, type, [2]) }
        #expect(error.code == .invalidArgument)
        #expect(error.message == "input 'x': \(message)")
    }

    @Test("an element count that does not match the shape is refused")
    func countMismatch() throws {
        let error = try #require(throws: FerryError.self) { try decode("[1, 2, 3, 4, 5]", .fp32, [2, 3]) }
        #expect(error.message == "input 'x': shape [2, 3] has 6 elements, but 'data' holds 5")
    }

    @Test("objects and nulls are not tensor data")
    func nonScalarData() throws {
        #expect(throws: FerryError.self) { try decode(#"[{"a": 1}, 2]"#, .fp32, [2]) }
        #expect(throws: FerryError.self) { try decode("[null, 2]", .fp32, [2]) }
    }
}
