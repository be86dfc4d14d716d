/// What every wire format says of a tensor before its data: a datatype name
/// and a shape. Checked here once, so the v2 JSON codec and gRPC refuse the
/// same header with the same sentence.
public enum TensorHeader {
    /// The datatype a v2 name stands for (`FP32`), or why there is none.
    public static func datatype(_ name: String, role: String, tensor: String) throws(FerryError) -> DataType {
        do {
            return try DataType(v2Name: name)
        } catch {
            throw FerryError(.invalidArgument, "\(role) '\(tensor)': \(error.message)")
        }
    }

    /// A shape whose dimensions are non-negative and whose element count an
    /// `Int` can hold (a product that overflows is refused here, not
    /// reported later as a tensor of -1 elements).
    public static func shape(_ dimensions: [some BinaryInteger], role: String, tensor: String) throws(FerryError) -> TensorShape {
        var converted: [Int] = []
        converted.reserveCapacity(dimensions.count)
        for dimension in dimensions {
            guard dimension >= 0, let value = Int(exactly: dimension) else {
                throw FerryError(.invalidArgument, "\(role) '\(tensor)': 'shape' must be an array of non-negative integers")
            }
            converted.append(value)
        }
        let shape = TensorShape(converted)
        guard shape.elementCount != nil else {
            throw FerryError(.invalidArgument, "\(role) '\(tensor)': shape \(shape) holds more elements than any tensor can")
        }
        return shape
    }
}
