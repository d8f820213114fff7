//! Union-find over record indices, where each set carries the identifiers it holds so that
//! a union that would join two different identifiers can be refused.

use std::collections::BTreeSet;

#[derive(Debug)]
pub struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
    /// Distinct hard identifiers (resident ID, credit code) per root.
    ids: Vec<BTreeSet<String>>,
    /// Per root: elements its set must never be joined with.
    forbidden: Vec<Vec<usize>>,
}

impl UnionFind {
    pub fn new(ids: Vec<BTreeSet<String>>) -> Self {
        let n = ids.len();
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
            ids,
            forbidden: vec![Vec::new(); n],
        }
    }

    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b` unless each holds an identifier the other lacks.
    /// Returns whether they are now one set.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let (ia, ib) = (&self.ids[ra], &self.ids[rb]);
        if !ia.is_empty() && !ib.is_empty() && ia != ib {
            return false;
        }
        self.join(ra, rb)
    }

    /// Records that `a` and `b` must never be in one set.
    pub fn forbid(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        self.forbidden[ra].push(b);
        self.forbidden[rb].push(a);
    }

    /// Joins the sets of `a` and `b` whatever identifiers they hold (a reviewer's decision),
    /// unless they were declared distinct.
    pub fn union_forced(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        ra == rb || self.join(ra, rb)
    }

    fn forbids(&mut self, ra: usize, rb: usize) -> bool {
        let list = self.forbidden[ra].clone();
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
        self.parent[small] = big;
        self.size[big] += self.size[small];
        let moved = std::mem::take(&mut self.ids[small]);
        self.ids[big].extend(moved);
        let moved = std::mem::take(&mut self.forbidden[small]);
        self.forbidden[big].extend(moved);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_conflicting_identifiers() {
        let ids = vec![
            BTreeSet::from(["A".to_owned()]),
            BTreeSet::new(),
            BTreeSet::from(["B".to_owned()]),
        ];
        let mut uf = UnionFind::new(ids);
        assert!(uf.union(0, 1));
        assert!(!uf.union(1, 2), "joining 1 to 2 would put A and B together");
        assert_ne!(uf.find(0), uf.find(2));
        assert_eq!(uf.find(0), uf.find(1));
    }

    #[test]
    fn forbidden_pairs_stay_apart_even_when_forced() {
        let mut uf = UnionFind::new(vec![BTreeSet::new(); 4]);
        uf.forbid(0, 3);
        assert!(uf.union(0, 1));
        assert!(uf.union(2, 3));
        assert!(!uf.union(1, 2));
        assert!(!uf.union_forced(1, 3));
        let mut ids = vec![BTreeSet::new(); 2];
        ids[0].insert("A".to_owned());
        ids[1].insert("B".to_owned());
        let mut uf = UnionFind::new(ids);
        assert!(
            uf.union_forced(0, 1),
            "a reviewer may join different identifiers"
        );
    }
}
