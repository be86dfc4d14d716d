#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A named tensor: datatype, shape and the element bytes.
///
/// `data` holds the elements in row-major order, little-endian, exactly as the
/// v2 binary tensor extension and gRPC `raw_input_contents` carry them. For
/// `BYTES` each element is a 4-byte little-endian length followed by that many
/// bytes. Keeping one representation for every wire format lets a request's
/// bytes reach the backend without conversion.
public struct Tensor: Sendable {
    public var name: String
    public var datatype: DataType
    public var shape: TensorShape
    public var data: Data

    public init(name: String, datatype: DataType, shape: TensorShape, data: Data) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
        self.data = data
    }
}

extension Tensor {
    /// A tensor of fixed-size elements.
    public init<Element: TensorElement>(name: String, shape: TensorShape, values: [Element]) {
        let data = values.withUnsafeBufferPointer { Data(buffer: $0) }
        self.init(name: name, datatype: Element.dataType, shape: shape, data: data)
    }

    /// A `BYTES` tensor.
    public init(name: String, shape: TensorShape, elements: [some Collection<UInt8>]) {
        self.init(name: name, datatype: .bytes, shape: shape, data: BytesTensorCoding.encode(elements))
    }

    /// A `BYTES` tensor of UTF-8 strings.
    public init(name: String, shape: TensorShape, strings: [String]) {
        self.init(name: name, shape: shape, elements: strings.map { Array($0.utf8) })
    }

    /// The elements, read as `Element`; the tensor's datatype must match.
    public func values<Element: TensorElement>(as type: Element.Type = Element.self) throws(FerryError) -> [Element] {
        guard datatype == Element.dataType else {
            throw FerryError(.invalidArgument, "tensor '\(name)' is \(datatype.rawValue), not \(Element.dataType.rawValue)")
        }
        let count = data.count / MemoryLayout<Element>.stride
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            _ = data.copyBytes(to: buffer)
            initialized = count
        }
    }

    /// The elements of a `BYTES` tensor.
    public func byteElements() throws(FerryError) -> [Data] {
        guard datatype == .bytes else {
            throw FerryError(.invalidArgument, "tensor '\(name)' is \(datatype.rawValue), not BYTES")
        }
        return try BytesTensorCoding.decode(data, tensorName: name)
    }
}
