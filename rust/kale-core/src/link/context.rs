//! Graph-context disambiguation: among the senses of an ambiguous mention, prefer
//! those close in the graph to the other mentions of the same question.
//!
//! Support of a candidate c of mention m = the mean, over the other mentions m',
//! of the best link from c to one of m''s top candidates: 1 when they are
//! neighbours (or the same node), 0.5 when they share a neighbour (two hops), else
//! 0. The final score is (1 − w)·prior share + w·support. Neighbour lists of hubs
//! are capped, so a question costs microseconds however large the graph.

use crate::store::{Dir, Graph};

use super::Mention;

/// Candidates per mention that take part in re-ranking.
pub const POOL: usize = 10;
/// Context candidates per other mention.
const OTHERS: usize = 3;
/// Neighbours read per node (hubs are cut here).
const CAP: usize = 2000;

fn neighbours(g: &Graph, node: u32) -> Vec<u32> {
    let mut v: Vec<u32> = Vec::new();
    for dir in [Dir::Out, Dir::In] {
        let (n, _) = g.neighbours(node, dir);
        v.extend_from_slice(&n[..n.len().min(CAP)]);
    }
    v.sort_unstable();
    v.dedup();
    v
}

fn share_one(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Re-scores and re-sorts the candidates of every mention in `groups` in place.
pub fn rerank(g: &Graph, groups: &mut [Vec<Mention>], weight: f32) {
    let w = weight.clamp(0.0, 1.0);
    let all: Vec<(usize, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(t, ms)| (0..ms.len()).map(move |i| (t, i)))
        .collect();
    if all.len() < 2 || w == 0.0 {
        return;
    }
    // Neighbour lists of every candidate in the pool, read once.
    let lists: Vec<Vec<Vec<u32>>> = all
        .iter()
        .map(|&(t, i)| {
            groups[t][i]
                .candidates
                .iter()
                .take(POOL)
                .map(|c| neighbours(g, c.node))
                .collect()
        })
        .collect();
    let mut scores: Vec<Vec<f32>> = Vec::with_capacity(all.len());
    for (k, &(t, i)) in all.iter().enumerate() {
        let m = &groups[t][i];
        let mut s = Vec::with_capacity(m.candidates.len());
        for (ci, c) in m.candidates.iter().enumerate() {
            let Some(nc) = lists[k].get(ci) else {
                s.push((1.0 - w) * c.score);
                continue;
            };
            let mut support = 0.0f32;
            for (k2, &(t2, i2)) in all.iter().enumerate() {
                if k2 == k {
                    continue;
                }
                let other = &groups[t2][i2];
                let mut best = 0.0f32;
                for (oi, o) in other.candidates.iter().take(OTHERS).enumerate() {
                    let link = if o.node == c.node || nc.binary_search(&o.node).is_ok() {
                        1.0
                    } else if lists[k2].get(oi).is_some_and(|no| share_one(nc, no)) {
                        0.5
                    } else {
                        0.0
                    };
                    best = best.max(link);
                }
                support += best;
            }
            support /= (all.len() - 1) as f32;
            s.push((1.0 - w) * c.score + w * support);
        }
        scores.push(s);
    }
    for (&(t, i), s) in all.iter().zip(scores) {
        let m = &mut groups[t][i];
        for (c, score) in m.candidates.iter_mut().zip(s) {
            c.score = score;
        }
        m.candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    }
}
