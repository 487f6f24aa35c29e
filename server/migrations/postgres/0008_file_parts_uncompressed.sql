-- Shared files are mostly compressed already (images, PDFs, archives, video): trying pglz on
-- every 1 MiB part burns a core for nothing while the chat waits for it. Stored out of line,
-- uncompressed.
ALTER TABLE file_parts ALTER COLUMN bytes SET STORAGE EXTERNAL;
