import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors

extension AudioPretraining {
    /// HuBERT's k-means tokenizer from `objective.hubert`: the centroid file (checked against what it says it
    /// clustered) and, for a teacher layer, the teacher checkpoint's encoder (checked to label the student's
    /// positions). With `checkpointWeights`, only the centroids' shape, from the checkpoint.
    static func hubertTokenizer(_ section: HuBERTSection, student: AudioEncoder,
                                checkpointWeights: URL?) throws -> KMeansTokenizer {
        if let checkpointWeights {
            let file = try SafeTensorsFile(contentsOf: checkpointWeights)
            let shape = try file.info("tokenizer.centroids").shape
            guard shape.count == 2, shape[0] >= 2 else {
                throw CheckpointError("\(checkpointWeights.path): tokenizer.centroids must be (K ≥ 2, D), got \(shape)")
            }
            return KMeansTokenizer(centroids: Tensor(zeros: shape), features: nil)
        }
        let url = URL(fileURLWithPath: section.centroids)
        let (centroids, metadata) = try KMeansCentroids.read(url)
        let features: ClusteredFeatures
        if let teacherPath = section.teacher, let layer = section.layer {
            guard metadata["features"] == "layer", metadata["layer"] == "\(layer)" else {
                throw TrainingError("\(url.path): centroids of \(describe(metadata)), but objective.hubert names layer \(layer) of \(teacherPath)")
            }
            let teacher = try loadAudioEncoder(URL(fileURLWithPath: teacherPath)).encoder
            try checkTeacher(teacher, layer: layer, student: student, path: teacherPath)
            features = .layer(teacher, index: layer)
        } else {
            guard metadata["features"] == "cepstra" else {
                throw TrainingError("\(url.path): centroids of \(describe(metadata)); without objective.hubert.teacher they must cluster cepstra")
            }
            guard centroids.size(1) <= student.config.featureDimension else {
                throw TrainingError("\(url.path): \(centroids.size(1)) cepstra from \(student.config.featureDimension) feature bins")
            }
            features = .cepstra(count: centroids.size(1))
        }
        guard centroids.size(1) == features.dimension else {
            throw TrainingError("\(url.path): centroids of dimension \(centroids.size(1)) for features of \(features.dimension)")
        }
        return KMeansTokenizer(centroids: centroids, features: features)
    }

    static func describe(_ metadata: [String: String]) -> String {
        switch metadata["features"] {
        case "cepstra": return "cepstra"
        case "layer": return "layer \(metadata["layer"] ?? "?") of \(metadata["teacher"] ?? "?")"
        default: return "unknown features (metadata 'features' is \(metadata["features"] ?? "missing"))"
        }
    }

    /// The teacher must read the same features and have the student's positions, so its labels line up.
    static func checkTeacher(_ teacher: AudioEncoder, layer: Int, student: AudioEncoder, path: String) throws {
        let (t, s) = (teacher.config, student.config)
        guard teacher.hasSamePositions(as: student) else {
            throw TrainingError("\(path): the teacher's positions differ from the student's (encoder type, feature_dim, "
                + "frame_stack or patch size); its labels would not line up")
        }
        guard (0...t.layers).contains(layer) else {
            throw TrainingError("objective.hubert.layer \(layer) is outside 0…\(t.layers) (the teacher's embedding output and layers)")
        }
        guard t.maxFrames >= s.maxFrames else {
            throw TrainingError("\(path): the teacher covers \(t.maxFrames) frames, fewer than model.context \(s.maxFrames)")
        }
    }
}
