import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Tensor data read straight from JSON text must equal, bit for bit and
/// message for message, what the document tree and the standard library's
/// correctly rounded parsers give.
@Suite("JSON tensor data read from its text")
struct TensorJSONTextTests {
    /// Decodes `literals` as the `data` of a tensor both ways.
    func bothWays(_ literals: [String], _ datatype: DataType) -> (text: Result<Data, FerryError>, tree: Result<Data, FerryError>) {
        let document = Data(#"{"data":[\#(literals.joined(separator: ","))]}"#.utf8)
        let shape = TensorShape([literals.count])
        func decode(_ value: JSONValue) -> Result<Data, FerryError> {
            Result { () throws(FerryError) in try TensorJSONCoding.decode(value, datatype: datatype, shape: shape, tensorName: "x") }
        }
        let deferred = try! JSONParser.parse(document, deferringArraysOf: "data")["data"]!
        guard case .deferredArray = deferred else { fatalError("the data array was built, not deferred") }
        return (decode(deferred), decode(try! JSONParser.parse(document)["data"]!))
    }

    func expectSame(_ literals: [String], _ datatype: DataType, sourceLocation: SourceLocation = #_sourceLocation) {
        let (text, tree) = bothWays(literals, datatype)
        switch (text, tree) {
        case (.success(let fast), .success(let reference)):
            #expect(fast == reference, "\(datatype.rawValue): \(literals.prefix(8))…", sourceLocation: sourceLocation)
            if fast != reference, datatype == .fp32 {
                let a = fast.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                let b = reference.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                for index in a.indices where a[index].bitPattern != b[index].bitPattern {
                    Issue.record("\(literals[index]): read \(a[index]), expected \(b[index])", sourceLocation: sourceLocation)
                    break
                }
            }
        case (.failure(let fast), .failure(let reference)):
            #expect(fast.message == reference.message, sourceLocation: sourceLocation)
        default:
            Issue.record("\(datatype.rawValue) \(literals.prefix(4)): text \(text), tree \(tree)", sourceLocation: sourceLocation)
        }
    }

    @Test("FP32: random values written as float32 and as double, Float midpoints and their neighbours")
    func float32() {
        var generator = SeededGenerator(test: "TensorJSONTextTests.float32")
        var literals: [String] = []
        for _ in 0..<20_000 {
            let float = Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &generator))
            literals.append(Double(float).description)  // as Python writes a float32's tolist()
            literals.append(float.description)
            let midpoint = (Double(float) + Double(float.nextUp)) / 2
            literals.append(midpoint.description)
            literals.append(midpoint.nextUp.description)
            literals.append(midpoint.nextDown.description)
            literals.append(Double.random(in: -1e3...1e3, using: &generator).description)
            literals.append(String(Int.random(in: -99_999_999...99_999_999, using: &generator)))
        }
        expectSame(literals, .fp32)
    }

    @Test("FP32 and FP64: the spellings that leave the fast path")
    func edges() {
        let literals = [
            "0", "-0", "0.0", "-0.0", "0e0", "1", "-1", "1e10", "1E10", "1e+10", "1.5e-7", "123456789012345678901234567890",
            "0.1000000000000000055511151231257827021181583404541015625", "3.4028235e38", "3.4028236e38", "3.5e38", "1e39",
            "1.17549435e-38", "1.1754942e-38", "1e-40", "1e-45", "1e-46", "1e-400", "1e400", "4.9e-324", "NaN", "Infinity", "-Infinity",
            "0.000001", "0.0000000000000000000000001", "9007199254740993", "18446744073709551615", "0.30000000000000004",
            "2.2250738585072011e-308", "1.7976931348623157e308", "100000000000000000000000", "1e22", "1e23", "1e-22", "1e-23",
        ]
        expectSame(literals, .fp32)
        expectSame(literals, .fp64)
        expectSame(literals, .fp16)
        expectSame(literals, .bf16)
    }

    @Test("FP64: random doubles round-trip")
    func float64() {
        var generator = SeededGenerator(test: "TensorJSONTextTests.float64")
        let literals = (0..<20_000).map { _ in Double(bitPattern: UInt64.random(in: 0...0x7FEF_FFFF_FFFF_FFFF, using: &generator)).description }
        expectSame(literals, .fp64)
        expectSame(literals.map { String($0.prefix(12)) }.filter { !$0.hasSuffix("e") && !$0.hasSuffix("-") && !$0.hasSuffix(".") }, .fp64)
    }

    @Test("integers: every type's limits, one past them, fractions and exponents")
    func integers() {
        let types: [(DataType, String, String)] = [
            (.int8, "-128", "127"), (.int16, "-32768", "32767"), (.int32, "-2147483648", "2147483647"),
            (.int64, "-9223372036854775808", "9223372036854775807"), (.uint8, "0", "255"), (.uint16, "0", "65535"),
            (.uint32, "0", "4294967295"), (.uint64, "0", "18446744073709551615"),
        ]
        for (datatype, low, high) in types {
            expectSame([low, high, "0", "-0", "7"], datatype)
            for bad in ["1.5", "1e2", "1.0", "-1", "\(high)0", "-\(high)0", "99999999999999999999999"] {
                expectSame(["1", bad], datatype)
            }
        }
    }

    @Test("errors: wrong kinds of element, counts, nesting, null and objects say the same as the tree")
    func errors() {
        expectSame(["1", "true"], .fp32)
        expectSame(["1", "\"text\""], .fp32)
        expectSame(["1", "2"], .bool)
        expectSame(["true", "false", "\"x\\\"y\""], .bool)
        expectSame(["[1, 2]", "[3, 4]"], .fp32)
        expectSame(["[[1], [2]]", "[]", "[[[3]]]"], .int32)
        let (text, _) = bothWays(["1", "2", "3"], .fp32)
        #expect(throws: Never.self) { try text.get() }
        let document = Data(#"{"data":[1,2,3]}"#.utf8)
        let deferred = try! JSONParser.parse(document, deferringArraysOf: "data")["data"]!
        for (shape, message) in [
            (TensorShape([4]), "input 'x': shape [4] has 4 elements, but 'data' holds 3"),
            (TensorShape([2]), "input 'x': shape [2] has 2 elements, but 'data' holds 3"),
        ] {
            let error = #expect(throws: FerryError.self) {
                try TensorJSONCoding.decode(deferred, datatype: .fp32, shape: shape, tensorName: "x")
            }
            #expect(error?.message == message)
        }
        for (literal, kind) in [("null", "null"), ("{\"a\": 1}", "an object")] {
            let value = try! JSONParser.parse(Data(#"{"data":[1,\#(literal)]}"#.utf8), deferringArraysOf: "data")["data"]!
            let error = #expect(throws: FerryError.self) {
                try TensorJSONCoding.decode(value, datatype: .fp32, shape: TensorShape([2]), tensorName: "x")
            }
            #expect(error?.message == "input 'x': 'data' must hold numbers, booleans or strings, not \(kind)")
        }
    }

    @Test("BYTES data and arrays under other keys keep the tree")
    func bytesAndOtherKeys() {
        expectSame(["\"a\"", "\"é\\n\"", "\"\\u00e9\""], .bytes)
        let document = try! JSONParser.parse(Data(#"{"data":[1],"shape":[1],"x":{"data":[2]}}"#.utf8), deferringArraysOf: "data")
        #expect(document["shape"] == .array([.number("1")]))
        guard case .deferredArray = document["x"]?["data"] else {
            Issue.record("a data array at any depth is deferred")
            return
        }
    }

    @Test("a deferred array is checked as strictly as a built one")
    func strictness() {
        for bad in ["[1,]", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[1 2]", "[[1]", "[1]]", "[\"\\x\"]", "[tru]", "[+1]", "[0x10]"] {
            let document = Data(#"{"data":\#(bad)}"#.utf8)
            let tree = #expect(throws: FerryError.self) { try JSONParser.parse(document) }
            let text = #expect(throws: FerryError.self) { try JSONParser.parse(document, deferringArraysOf: "data") }
            #expect(tree?.message == text?.message, "\(bad)")
        }
        let deep = Data(("{\"data\":" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}").utf8)
        #expect(throws: FerryError.self) { try JSONParser.parse(deep, deferringArraysOf: "data") }
    }
}
