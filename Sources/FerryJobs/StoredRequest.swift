import FerryCore
import FerryProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The form a job's request is stored in: the binary tensor extension's JSON
/// header and tensor bytes, prefixed by the header's length (8 bytes, little
/// endian). Every datatype round-trips bit for bit, unlike JSON numbers.
enum StoredRequest {
    static func encode(_ request: InferenceRequest) throws(FerryError) -> Data {
        let (header, chunks) = try request.v2Body(binary: true)
        var data = Data(capacity: 8 + header.count + chunks.reduce(0) { $0 + $1.count })
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(header)
        for chunk in chunks { data.append(chunk) }
        return data
    }

    static func decode(_ data: Data) throws(FerryError) -> InferenceRequest {
        guard data.count >= 8 else { throw FerryError(.internal, "a stored job request is truncated (\(data.count) bytes)") }
        var length: UInt64 = 0
        for (shift, byte) in data.prefix(8).enumerated() { length |= UInt64(byte) << (8 * UInt64(shift)) }
        guard length <= UInt64(data.count - 8) else {
            throw FerryError(.internal, "a stored job request's header says \(length) bytes, but \(data.count - 8) follow")
        }
        let headerEnd = data.startIndex + 8 + Int(length)
        let header = try JSONParser.parse(data[(data.startIndex + 8)..<headerEnd])
        return try InferenceRequest(v2JSON: header, binary: Data(data[headerEnd...]))
    }
}
