import FerryCore
import Foundation
import Testing

/// Compares an output tensor with the reference output, element by element
/// and bit for bit: the reference JSON holds the exact value of each element.
enum TensorComparison {
    static func expectEqual(_ actual: Tensor, _ expected: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let name = expected["name"]?.stringValue ?? "?"
        #expect(actual.name == name, sourceLocation: sourceLocation)
        #expect(actual.datatype.rawValue == expected["datatype"]?.stringValue, "datatype of \(name)", sourceLocation: sourceLocation)
        let shape = expected["shape"]?.arrayValue?.compactMap { value -> Int? in
            if case .number(let literal) = value { return Int(literal) }
            return nil
        }
        #expect(actual.shape.dimensions == shape, "shape of \(name)", sourceLocation: sourceLocation)
        let data = expected["data"]!
        if actual.datatype == .bytes, case .array(let rows) = data, rows.contains(where: { Self.isJSONObjectText($0) }) {
            // seq(map) outputs: one JSON object per row; compare the parsed maps.
            let elements = try actual.byteElements()
            #expect(elements.count == rows.count, sourceLocation: sourceLocation)
            for (element, row) in zip(elements, rows) {
                let actualMap = try JSONParser.parse(element)
                let expectedMap = try JSONParser.parse(row.stringValue!)
                try expectSameMap(actualMap, expectedMap, sourceLocation: sourceLocation)
            }
            return
        }
        let expectedTensor = Tensor(
            name: name,
            datatype: actual.datatype,
            shape: actual.shape,
            data: try TensorJSONCoding.decode(data, datatype: actual.datatype, shape: actual.shape, tensorName: name)
        )
        #expect(
            actual.data == expectedTensor.data,
            "\(name): \(Self.preview(actual)) != expected \(Self.preview(expectedTensor))",
            sourceLocation: sourceLocation
        )
    }

    private static func isJSONObjectText(_ value: JSONValue) -> Bool {
        value.stringValue?.hasPrefix("{") ?? false
    }

    private static func expectSameMap(_ actual: JSONValue, _ expected: JSONValue, sourceLocation: SourceLocation) throws {
        guard case .object(let actualMembers) = actual, case .object(let expectedMembers) = expected else {
            Issue.record("expected JSON objects, got \(actual) and \(expected)", sourceLocation: sourceLocation)
            return
        }
        #expect(Set(actualMembers.keys) == Set(expectedMembers.keys), sourceLocation: sourceLocation)
        for (key, expectedValue) in expectedMembers {
            guard case .number(let expectedLiteral) = expectedValue, case .number(let actualLiteral)? = actualMembers[key] else {
                Issue.record("map value for \(key) is not a number", sourceLocation: sourceLocation)
                continue
            }
            // The map values are float32: equal as float32, bit for bit.
            #expect(Float(actualLiteral)?.bitPattern == Float(expectedLiteral)?.bitPattern, "map[\(key)]", sourceLocation: sourceLocation)
        }
    }

    static func preview(_ tensor: Tensor) -> String {
        var writer = JSONWriter()
        try? TensorJSONCoding.write(tensor, to: &writer)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
