import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Tensor data read straight from JSON text must equal, bit for bit and
/// message for message, what the document tree and the standard library's
/// correctly rounded parsers give.
@Suite("JSON tensor data read from its text")
struct TensorJSONTextTests {
    struct Decodings {
        /// Read in place by the parser: `datatype` and `shape` came first.
        let inPlace: Result<Data, FerryError>
        /// Whether the parser did read it in place (it leaves errors to the checked path).
        let readInPlace: Bool
        /// Checked by the parser, read afterwards: `data` came first.
        let text: Result<Data, FerryError>
        /// Through the document tree.
        let tree: Result<Data, FerryError>
    }

    /// Decodes `literals` as the `data` of a tensor every way.
    func allWays(_ literals: [String], _ datatype: DataType) -> Decodings {
        let data = literals.joined(separator: ",")
        let dataFirst = Data(#"{"data":[\#(data)]}"#.utf8)
        let headerFirst = Data(#"{"name":"x","datatype":"\#(datatype.rawValue)","shape":[\#(literals.count)],"data":[\#(data)]}"#.utf8)
        let shape = TensorShape([literals.count])
        func decode(_ value: JSONValue) -> Result<Data, FerryError> {
            Result { () throws(FerryError) in try TensorJSONCoding.decode(value, datatype: datatype, shape: shape, tensorName: "x") }
        }
        let deferred = try! JSONParser.parse(dataFirst, deferringArraysOf: "data")["data"]!
        guard case .deferredArray(let checked) = deferred, checked.decoded == nil else { fatalError("the data array was not deferred") }
        let read = try! JSONParser.parse(headerFirst, deferringArraysOf: "data", readingInPlace: TensorJSONCoding.readInPlace)["data"]!
        guard case .deferredArray(let inPlace) = read else { fatalError("the data array was built, not deferred") }
        return Decodings(
            inPlace: decode(read), readInPlace: inPlace.decoded != nil, text: decode(deferred), tree: decode(try! JSONParser.parse(dataFirst)["data"]!))
    }

    func expectSame(_ literals: [String], _ datatype: DataType, sourceLocation: SourceLocation = #_sourceLocation) {
        let ways = allWays(literals, datatype)
        for (way, result) in [("text", ways.text), ("in place", ways.inPlace)] {
            expectSame(way, result, ways.tree, literals, datatype, sourceLocation: sourceLocation)
        }
        // Numbers that convert are read in one pass; anything else is left to the checked path.
        let numeric = datatype != .bool && datatype != .bytes
        let plain = !literals.contains { $0.contains("[") || $0.contains("N") || $0.contains("I") }
        if case .success = ways.tree, numeric, plain {
            #expect(ways.readInPlace, "\(datatype.rawValue) \(literals.prefix(4)) was not read in place", sourceLocation: sourceLocation)
        }
        if case .failure = ways.tree {
            #expect(!ways.readInPlace, sourceLocation: sourceLocation)
        }
    }

    func expectSame(
        _ way: String,
        _ result: Result<Data, FerryError>,
        _ tree: Result<Data, FerryError>,
        _ literals: [String],
        _ datatype: DataType,
        sourceLocation: SourceLocation
    ) {
        switch (result, tree) {
        case (.success(let fast), .success(let reference)):
            #expect(fast == reference, "\(way), \(datatype.rawValue): \(literals.prefix(8))…", sourceLocation: sourceLocation)
            if fast != reference, datatype == .fp32 {
                let a = fast.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                let b = reference.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                for index in a.indices where a[index].bitPattern != b[index].bitPattern {
                    Issue.record("\(way): \(literals[index]): read \(a[index]), expected \(b[index])", sourceLocation: sourceLocation)
                    break
                }
            }
        case (.failure(let fast), .failure(let reference)):
            #expect(fast.message == reference.message, "\(way)", sourceLocation: sourceLocation)
        default:
            Issue.record("\(datatype.rawValue) \(literals.prefix(4)): \(way) \(result), tree \(tree)", sourceLocation: sourceLocation)
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
        #expect(throws: Never.self) { try allWays(["1", "2", "3"], .fp32).text.get() }
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

    @Test("a deferred or in-place array is checked as strictly as a built one")
    func strictness() {
        let bad = [
            "[1,]", "[01]", "[-01]", "[1.]", "[.5]", "[1e]", "[1e+]", "[-]", "[1 2]", "[[1]", "[1]]", "[\"\\x\"]", "[tru]", "[+1]",
            "[0x10]", "[1,,2]", "[,1]", "[1", "[1,", "[[1],]", "[1]x", "[1.5.5]", "[1e5e5]", "[-Infinit]", "[NaN,]", "[1,2,3,4,5,6,7,8,9,1]]",
        ]
        for bad in bad {
            let document = Data(#"{"data":\#(bad)}"#.utf8)
            let headerFirst = Data(#"{"datatype":"FP32","shape":[1],"data":\#(bad)}"#.utf8)
            let tree = #expect(throws: FerryError.self) { try JSONParser.parse(document) }
            let text = #expect(throws: FerryError.self) { try JSONParser.parse(document, deferringArraysOf: "data") }
            #expect(tree?.message == text?.message, "\(bad)")
            let treeAfterHeader = #expect(throws: FerryError.self) { try JSONParser.parse(headerFirst) }
            let inPlace = #expect(throws: FerryError.self) {
                try JSONParser.parse(headerFirst, deferringArraysOf: "data", readingInPlace: TensorJSONCoding.readInPlace)
            }
            #expect(treeAfterHeader?.message == inPlace?.message, "\(bad)")
        }
        for depth in [511, 512, 600] {
            let nested = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
            let document = Data(#"{"datatype":"FP32","shape":[1],"data":\#(nested)}"#.utf8)
            let tree = Result { () throws(FerryError) in try JSONParser.parse(document) }
            let inPlace = Result { () throws(FerryError) in
                try JSONParser.parse(document, deferringArraysOf: "data", readingInPlace: TensorJSONCoding.readInPlace)
            }
            switch (tree, inPlace) {
            case (.success, .success): #expect(depth < 512)
            case (.failure(let a), .failure(let b)): #expect(a.message == b.message)
            default: Issue.record("depth \(depth): tree \(tree), in place \(inPlace)")
            }
        }
    }

    @Test("in place only when the header came first and fits; a later datatype or shape wins")
    func inPlaceConditions() throws {
        func parsed(_ json: String) throws -> JSONText {
            let document = try JSONParser.parse(Data(json.utf8), deferringArraysOf: "data", readingInPlace: TensorJSONCoding.readInPlace)
            guard case .deferredArray(let text)? = document["data"] else { throw FerryError(.internal, "not deferred") }
            return text
        }
        #expect(try parsed(#"{"datatype":"FP32","shape":[2],"data":[1,2]}"#).decoded?.count == 2)
        #expect(try parsed(#"{"shape":[2],"data":[1,2],"datatype":"FP32"}"#).decoded == nil)
        #expect(try parsed(#"{"datatype":"FP32","data":[1,2],"shape":[2]}"#).decoded == nil)
        #expect(try parsed(#"{"datatype":"BYTES","shape":[1],"data":["a"]}"#).decoded == nil)
        #expect(try parsed(#"{"datatype":"FP32","shape":[3],"data":[1,2]}"#).decoded == nil)
        #expect(try parsed(#"{"datatype":"FP32","shape":[1],"data":[1,2]}"#).decoded == nil)
        // A shape the text cannot fill allocates nothing.
        #expect(try parsed(#"{"datatype":"FP32","shape":[1099511627776],"data":[1]}"#).decoded == nil)
        #expect(try parsed(#"{"datatype":"FP32","shape":[-1],"data":[1]}"#).decoded == nil)
        // Read as FP32, then the object says INT32: the text is read again as INT32.
        let document = try JSONParser.parse(
            Data(#"{"datatype":"FP32","shape":[2],"data":[1,2],"datatype":"INT32"}"#.utf8), deferringArraysOf: "data",
            readingInPlace: TensorJSONCoding.readInPlace)
        let data = try TensorJSONCoding.decode(document["data"]!, datatype: .int32, shape: TensorShape([2]), tensorName: "x")
        #expect(data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) } == [1, 2])
    }
}
