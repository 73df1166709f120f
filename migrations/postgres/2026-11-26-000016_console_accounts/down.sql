DROP TABLE failed_reads;
DROP TABLE console_keys;
DROP TABLE console_accounts;
