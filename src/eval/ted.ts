/**
 * Tree edit distance (Zhang & Shasha 1989, "Simple fast algorithms for the editing distance between trees and
 * related problems"), the algorithm of the `zss` package that Donut's nTED uses, with caller-given costs.
 *
 * @example
 *   const t = (label: string, ...kids: TreeNode[]): TreeNode => ({ label, children: kids });
 *   treeEditDistance(t("a", t("b")), t("a", t("c")), { insert: () => 1, remove: () => 1, update: (x, y) => +(x.label !== y.label) }); // 1
 */

export interface TreeNode {
  label: string;
  children: TreeNode[];
}

export interface TreeCosts {
  insert(node: TreeNode): number;
  remove(node: TreeNode): number;
  update(a: TreeNode, b: TreeNode): number;
}

interface Annotated {
  nodes: TreeNode[]; // post-order
  lmd: number[]; // leftmost leaf descendant (post-order index) of each node
  keyroots: number[];
}

function annotate(root: TreeNode): Annotated {
  const nodes: TreeNode[] = [];
  const lmd: number[] = [];
  // iterative post-order (deep trees must not overflow the JS stack)
  const stack: { node: TreeNode; next: number; first: number }[] = [{ node: root, next: 0, first: -1 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.next < top.node.children.length) {
      stack.push({ node: top.node.children[top.next++], next: 0, first: -1 });
      continue;
    }
    stack.pop();
    const idx = nodes.length;
    nodes.push(top.node);
    const left = top.first >= 0 ? top.first : idx;
    lmd.push(left);
    if (stack.length) {
      const parent = stack[stack.length - 1];
      if (parent.first < 0) parent.first = left;
    }
  }
  const seen = new Set<number>();
  const keyroots: number[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!seen.has(lmd[i])) {
      seen.add(lmd[i]);
      keyroots.push(i);
    }
  }
  keyroots.sort((a, b) => a - b);
  return { nodes, lmd, keyroots };
}

/** Minimum total cost of node inserts, removals and relabels turning tree `a` into tree `b`. */
export function treeEditDistance(a: TreeNode, b: TreeNode, costs: TreeCosts): number {
  const A = annotate(a);
  const B = annotate(b);
  const n = A.nodes.length;
  const m = B.nodes.length;
  const td: Float64Array[] = Array.from({ length: n }, () => new Float64Array(m));
  const del = A.nodes.map((x) => costs.remove(x));
  const ins = B.nodes.map((x) => costs.insert(x));
  for (const i of A.keyroots) {
    for (const j of B.keyroots) {
      const li = A.lmd[i];
      const lj = B.lmd[j];
      const rows = i - li + 2;
      const cols = j - lj + 2;
      const fd: Float64Array[] = Array.from({ length: rows }, () => new Float64Array(cols));
      for (let x = 1; x < rows; x++) fd[x][0] = fd[x - 1][0] + del[li + x - 1];
      for (let y = 1; y < cols; y++) fd[0][y] = fd[0][y - 1] + ins[lj + y - 1];
      for (let x = 1; x < rows; x++) {
        for (let y = 1; y < cols; y++) {
          const ix = li + x - 1;
          const jy = lj + y - 1;
          if (A.lmd[ix] === li && B.lmd[jy] === lj) {
            fd[x][y] = Math.min(fd[x - 1][y] + del[ix], fd[x][y - 1] + ins[jy], fd[x - 1][y - 1] + costs.update(A.nodes[ix], B.nodes[jy]));
            td[ix][jy] = fd[x][y];
          } else {
            const px = A.lmd[ix] - li;
            const py = B.lmd[jy] - lj;
            fd[x][y] = Math.min(fd[x - 1][y] + del[ix], fd[x][y - 1] + ins[jy], fd[px][py] + td[ix][jy]);
          }
        }
      }
    }
  }
  return td[n - 1][m - 1];
}
