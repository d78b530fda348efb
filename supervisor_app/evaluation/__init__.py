"""The thesis's evaluation protocol (ch. 5.3.1, 7.2): V2M / M2V retrieval, Recall@K, mean rank ± 95 % CI."""
