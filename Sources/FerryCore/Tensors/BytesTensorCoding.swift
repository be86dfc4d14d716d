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
        let offsets = try elementOffsets(data, tensorName: tensorName)
        let base = data.startIndex
        return zip(offsets, offsets.dropFirst()).map { start, end in data[(base + start + 4)..<(base + end)] }
    }

    /// Counts serialized elements without copying them.
    public static func count(_ data: Data, tensorName: String) throws(FerryError) -> Int {
        try elementOffsets(data, tensorName: tensorName).count - 1
    }

    /// Where each element (its length prefix) starts, relative to the data's
    /// start, followed by the end: the one reader of the layout, so every
    /// caller refuses a malformed tensor with the same sentence.
    public static func elementOffsets(_ data: Data, tensorName: String) throws(FerryError) -> [Int] {
        var offsets = [0]
        var offset = 0
        let base = data.startIndex
        let total = data.count
        while offset < total {
            guard total - offset >= 4 else {
                throw FerryError(.invalidArgument, "BYTES tensor '\(tensorName)' ends inside an element's 4-byte length prefix")
            }
            let count =
                Int(data[base + offset]) | Int(data[base + offset + 1]) << 8 | Int(data[base + offset + 2]) << 16
                | Int(data[base + offset + 3]) << 24
            offset += 4
            guard total - offset >= count else {
                throw FerryError(
                    .invalidArgument,
                    "BYTES tensor '\(tensorName)' element \(offsets.count - 1) declares \(count) bytes but only \(total - offset) remain"
                )
            }
            offset += count
            offsets.append(offset)
        }
        return offsets
    }
}
