import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Merges requests into one batch along dimension 0 and splits the outputs
/// back, so that each request sees exactly what it would have seen alone.
package enum BatchAssembler {
    /// What must agree for two requests to share a batch: every input's name,
    /// datatype and dimensions after the first, and the outputs asked for.
    package struct Key: Hashable, Sendable {
        var inputs: [Signature]
        var outputs: [String]

        struct Signature: Hashable, Sendable {
            var name: String
            var datatype: DataType
            var trailing: [Int]
        }

        package init(inputs: [Tensor], outputs: [String]) {
            self.inputs = inputs.map { Signature(name: $0.name, datatype: $0.datatype, trailing: Array($0.shape.dimensions.dropFirst())) }
            self.outputs = outputs
        }
    }

    /// One tensor per input name holding every request's rows in order.
    /// BYTES rows concatenate as they are: each element carries its own length.
    package static func merge(_ requests: [[Tensor]]) -> [Tensor] {
        guard requests.count > 1 else { return requests.first ?? [] }
        return requests[0].indices.map { index in
            let first = requests[0][index]
            var data = Data(capacity: requests.reduce(0) { $0 + $1[index].data.count })
            var rows = 0
            for request in requests {
                data.append(request[index].data)
                rows += request[index].shape.dimensions.first ?? 1
            }
            var shape = first.shape
            shape.dimensions[0] = rows
            return Tensor(name: first.name, datatype: first.datatype, shape: shape, data: data)
        }
    }

    /// Splits each output's rows back into the requests' sizes, in order.
    /// Fixed-size outputs are sliced without a copy.
    package static func split(_ outputs: [Tensor], sizes: [Int]) throws(FerryError) -> [[Tensor]] {
        guard sizes.count > 1 else { return [outputs] }
        let total = sizes.reduce(0, +)
        var perRequest = Array(repeating: [Tensor](), count: sizes.count)
        for output in outputs {
            guard output.shape.rank >= 1, output.shape.dimensions[0] == total else {
                throw FerryError(
                    .internal,
                    "output '\(output.name)' has shape \(output.shape), which does not have the batch of \(total) rows as its first dimension"
                )
            }
            let rowElements = total == 0 ? 0 : (output.shape.elementCount ?? 0) / total
            var rowOffsets: [Int] = []
            if output.datatype == .bytes {
                rowOffsets = try bytesRowOffsets(output, rows: total, elementsPerRow: rowElements)
            }
            var row = 0
            for (index, size) in sizes.enumerated() {
                var shape = output.shape
                shape.dimensions[0] = size
                let range: Range<Int>
                if let elementSize = output.datatype.elementSize {
                    let rowBytes = rowElements * elementSize
                    range = (row * rowBytes)..<((row + size) * rowBytes)
                } else {
                    range = rowOffsets[row]..<rowOffsets[row + size]
                }
                let start = output.data.startIndex
                perRequest[index].append(
                    Tensor(
                        name: output.name, datatype: output.datatype, shape: shape,
                        data: output.data[(start + range.lowerBound)..<(start + range.upperBound)])
                )
                row += size
            }
        }
        return perRequest
    }

    /// Byte offsets (relative to the data's start) where each row of a BYTES tensor begins, plus its end.
    private static func bytesRowOffsets(_ tensor: Tensor, rows: Int, elementsPerRow: Int) throws(FerryError) -> [Int] {
        let elements = try BytesTensorCoding.elementOffsets(tensor.data, tensorName: tensor.name)
        guard elements.count - 1 >= rows * elementsPerRow else {
            throw FerryError(.internal, "BYTES output '\(tensor.name)' is shorter than its shape")
        }
        guard elementsPerRow > 0 else { return [Int](repeating: 0, count: rows + 1) }
        return stride(from: 0, through: rows * elementsPerRow, by: elementsPerRow).map { elements[$0] }
    }
}
