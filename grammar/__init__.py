"""The Lark grammar of the cluster query language, shipped inside the package as placement.grammar."""
