"""enseal.storage"""
