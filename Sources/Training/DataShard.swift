import Distributed
import Tensors

/// The part of every global batch this process trains on. In a data-parallel job of N ranks every rank draws the
/// same N·B rows from the same seeded stream and keeps rows rank·B ..< (rank+1)·B, so the ranks see disjoint
/// parts of one global batch, the streams' states are the same on every rank (rank 0's checkpoint holds them), and
/// the global sample order depends only on N·B: resuming with another N and the same global batch continues it.
public struct DataShard {
    /// The job whose ranks share the batches (a single process: the whole batch).
    public let communicator: Communicator

    public init(_ communicator: Communicator) { self.communicator = communicator }

    public static var whole: DataShard { DataShard(SingleProcess()) }

    /// This rank's part, 0..<count.
    public var index: Int { communicator.rank }
    /// Parts per global batch (the world size).
    public var count: Int { communicator.size }

    /// This rank's (rows, width) part of a global batch of count · rows rows: `draw` is called for every row of the
    /// global batch in order (so every rank's stream advances alike) and writes `width` values where it is told;
    /// the other ranks' rows go to a scratch row.
    func keepOwnRows(_ rows: Int, width: Int, _ draw: (UnsafeMutablePointer<Int32>) -> Void) -> IntTensor {
        var values = [Int32](repeating: 0, count: rows * width)
        var elsewhere = [Int32](repeating: 0, count: count > 1 ? width : 0)
        values.withUnsafeMutableBufferPointer { out in
            elsewhere.withUnsafeMutableBufferPointer { other in
                for row in 0..<rows * count {
                    draw(row / rows == index ? out.baseAddress! + row % rows * width : other.baseAddress!)
                }
            }
        }
        return IntTensor(values, shape: [rows, width])
    }

    /// The items of `items` this rank evaluates (item i goes to rank i mod count), for evaluations split over ranks.
    func share<T>(of items: [T]) -> [T] {
        count == 1 ? items : items.enumerated().filter { $0.offset % count == index }.map(\.element)
    }

    /// Sums a few values over the ranks; a failure (a peer gone) ends the job with the collective's error.
    func sum(_ values: [Double]) -> [Double] {
        guard count > 1 else { return values }
        do { return try communicator.allReduceSum(values) } catch {
            communicator.abort("pretrain: rank \(index) of \(count): \(error)")
        }
    }
}
