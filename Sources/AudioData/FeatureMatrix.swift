/// Features of one utterance: (frameCount, dimension), row-major.
public struct FeatureMatrix: Equatable {
    public var frameCount: Int
    public var dimension: Int
    public var values: [Float]

    public init(frameCount: Int, dimension: Int, values: [Float]) {
        precondition(values.count == frameCount * dimension, "\(values.count) values do not fill (\(frameCount), \(dimension))")
        self.frameCount = frameCount
        self.dimension = dimension
        self.values = values
    }

    public var shape: [Int] { [frameCount, dimension] }

    public subscript(frame: Int, column: Int) -> Float { values[frame * dimension + column] }
}
