//! Union-find over record indices, where each set carries the identifiers it holds so that
//! a union that would join two different identifiers can be refused.
//!
//! Identifiers are interned to numbers when the structure is built: a million records cost a
//! few bytes each, not a set of strings each.

use std::collections::HashMap;

#[derive(Debug)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
    /// Distinct hard identifiers (resident ID, credit code) per root, interned and sorted.
    ids: Vec<Vec<u32>>,
    /// Per root: elements its set must never be joined with.
    forbidden: HashMap<usize, Vec<usize>>,
}

impl UnionFind {
    /// One element per item, holding its hard identifier when it has one.
    pub fn new<'a>(ids: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut numbers: HashMap<&str, u32> = HashMap::new();
        let ids: Vec<Vec<u32>> = ids
            .into_iter()
            .map(|id| match id {
                Some(id) => {
                    let next = numbers.len() as u32;
                    vec![*numbers.entry(id).or_insert(next)]
                }
                None => Vec::new(),
            })
            .collect();
        let n = ids.len();
        Self {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
            ids,
            forbidden: HashMap::new(),
        }
    }

    pub fn find(&mut self, x: usize) -> usize {
        let mut x = x as u32;
        while self.parent[x as usize] != x {
            let up = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = up;
            x = up;
        }
        x as usize
    }

    /// Joins the sets of `a` and `b` unless each holds an identifier the other lacks.
    /// Returns whether they are now one set.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let (ia, ib) = (&self.ids[ra], &self.ids[rb]);
        let lacks = |x: &[u32], y: &[u32]| x.iter().any(|i| y.binary_search(i).is_err());
        if lacks(ia, ib) && lacks(ib, ia) {
            return false;
        }
        self.join(ra, rb)
    }

    /// Records that `a` and `b` must never be in one set.
    pub fn forbid(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        self.forbidden.entry(ra).or_default().push(b);
        self.forbidden.entry(rb).or_default().push(a);
    }

    /// Joins the sets of `a` and `b` whatever identifiers they hold (a reviewer's decision),
    /// unless they were declared distinct.
    pub fn union_forced(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        ra == rb || self.join(ra, rb)
    }

    fn forbids(&mut self, ra: usize, rb: usize) -> bool {
        let list = self.forbidden.get(&ra).cloned().unwrap_or_default();
        list.into_iter().any(|x| self.find(x) == rb)
    }

    fn join(&mut self, ra: usize, rb: usize) -> bool {
        if self.forbids(ra, rb) || self.forbids(rb, ra) {
            return false;
        }
        let (big, small) = if self.size[ra] >= self.size[rb] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small] = big as u32;
        self.size[big] += self.size[small];
        let moved = std::mem::take(&mut self.ids[small]);
        if !moved.is_empty() {
            let ids = &mut self.ids[big];
            ids.extend(moved);
            ids.sort_unstable();
            ids.dedup();
        }
        if let Some(moved) = self.forbidden.remove(&small) {
            self.forbidden.entry(big).or_default().extend(moved);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_conflicting_identifiers() {
        let mut uf = UnionFind::new([Some("A"), None, Some("B")]);
        assert!(uf.union(0, 1));
        assert!(!uf.union(1, 2), "joining 1 to 2 would put A and B together");
        assert_ne!(uf.find(0), uf.find(2));
        assert_eq!(uf.find(0), uf.find(1));
    }

    #[test]
    fn forbidden_pairs_stay_apart_even_when_forced() {
        let mut uf = UnionFind::new([None; 4]);
        uf.forbid(0, 3);
        assert!(uf.union(0, 1));
        assert!(uf.union(2, 3));
        assert!(!uf.union(1, 2));
        assert!(!uf.union_forced(1, 3));
        let mut uf = UnionFind::new([Some("A"), Some("B"), None, Some("A")]);
        assert!(
            uf.union_forced(0, 1),
            "a reviewer may join different identifiers"
        );
        assert!(uf.union(2, 3));
        assert!(
            uf.union(1, 2),
            "a set holding A and B may take another record with A"
        );
    }
}
