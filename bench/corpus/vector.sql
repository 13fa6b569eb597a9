-- pgvector similarity search, as RAG frameworks and hand-written code emit it.
SELECT id, content FROM documents ORDER BY embedding <=> $1 LIMIT 5;
SELECT id, content, embedding <=> $1 AS distance FROM documents ORDER BY distance LIMIT 10;
SELECT id, 1 - (embedding <=> $1) AS similarity FROM documents WHERE collection_id = $2 ORDER BY embedding <=> $1 LIMIT 8;
SELECT id FROM items ORDER BY embedding <#> $1 LIMIT 20;
SELECT * FROM items ORDER BY embedding <=> '[0.12,0.05,0.33,0.91]' LIMIT 3;
SELECT id, metadata FROM langchain_pg_embedding WHERE collection_id = $1 ORDER BY embedding <=> $2 LIMIT 4;
SELECT document, cmetadata, embedding <=> $1 AS distance FROM langchain_pg_embedding WHERE collection_id = $2 ORDER BY distance ASC LIMIT 4;
INSERT INTO documents (content, embedding) VALUES ($1, $2::vector);
INSERT INTO items (id, embedding) VALUES ($1, '[1,2,3]'::vector);
CREATE TABLE documents (id bigserial PRIMARY KEY, content text, metadata jsonb, embedding vector(1536));
SELECT count(*) FROM documents WHERE embedding <=> $1 < 0.25;
SELECT d.id, d.title FROM documents d WHERE d.tenant = $1 ORDER BY d.embedding <=> $2 LIMIT 10;
