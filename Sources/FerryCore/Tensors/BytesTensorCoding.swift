#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The v2 serialization of `BYTES` tensors: each element is a 4-byte
/// little-endian length followed by its bytes (Triton's binary tensor
/// extension and gRPC `raw_input_contents` use the same layout).
public enum BytesTensorCoding {
    public static func encode(_ elements: [some Collection<UInt8>]) -> Data {
        var data = Data(capacity: elements.reduce(0) { $0 + 4 + $1.count })
        for element in elements {
            appendLength(UInt32(element.count), to: &data)
            data.append(contentsOf: element)
        }
        return data
    }

    public static func appendLength(_ length: UInt32, to data: inout Data) {
        withUnsafeBytes(of: length.littleEndian) { data.append(contentsOf: $0) }
    }

    /// Splits serialized elements; fails if a length runs past the end.
    public static func decode(_ data: Data, tensorName: String) throws(FerryError) -> [Data] {
        var elements: [Data] = []
        var offset = data.startIndex
        while offset < data.endIndex {
            guard data.endIndex - offset >= 4 else {
                throw FerryError(.invalidArgument, "BYTES tensor '\(tensorName)' ends inside an element's 4-byte length prefix")
            }
            let count =
                Int(data[offset]) | Int(data[offset + 1]) << 8 | Int(data[offset + 2]) << 16 | Int(data[offset + 3]) << 24
            offset += 4
            guard data.endIndex - offset >= count else {
                throw FerryError(
                    .invalidArgument,
                    "BYTES tensor '\(tensorName)' element \(elements.count) declares \(count) bytes but only \(data.endIndex - offset) remain"
                )
            }
            elements.append(data[offset..<offset + count])
            offset += count
        }
        return elements
    }

    /// Counts serialized elements without copying them.
    public static func count(_ data: Data, tensorName: String) throws(FerryError) -> Int {
        try decode(data, tensorName: tensorName).count
    }
}
