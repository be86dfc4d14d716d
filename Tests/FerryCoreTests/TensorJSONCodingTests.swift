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
